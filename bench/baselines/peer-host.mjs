// A raw baseline's worker, run as a thread (commands on parentPort) or as a forked process (commands over
// IPC): it answers calls (a callee), or makes them to another host and times them itself (a caller), so a
// thread↔thread or process↔process baseline is measured inside the calling worker, as convoy's are.
// Commands, each answered with `{ id, value }` or `{ id, error }`:
//   serve-port { proto, port }          answer calls arriving on a transferred MessagePort (threads)
//   listen     { proto }                answer calls on every TCP connection to 127.0.0.1:<port>; value: port
//   connect    { conn, proto, port | tcpPort }   open a caller named `conn` on a port or to a TCP listener
//   connect-thread { conn, proto }     start a thread of this host's own that serves `proto`, and open a
//                                      caller named `conn` to it: a process's main thread calling its
//                                      thread, as the coordinator calls a thread worker
//   connect-threads { conn, proto }    start two threads of this host's own, one calling the other over a
//                                      MessagePort; `run` on `conn` runs in the calling thread
//   run        { conn, mode, arg }      mode 'rtt' (arg: count) or 'pipelined' (arg: ms) on that caller
//   exit-at    { wallMs, code }         exit with `code` at that wall-clock time (the death floors)
// Posts `{ ready: true }` once loaded.
import net from 'node:net';
import { MessageChannel, Worker, parentPort } from 'node:worker_threads';
import { wallNow } from '../loops.mjs';
import { hostRequests } from './host-requests.mjs';
import { portCaller, servePort, serveSocket, socketCaller } from './raw-loops.mjs';

const send = parentPort ? (msg) => parentPort.postMessage(msg) : (msg) => process.send(msg);
const callers = new Map();
const servers = [];
const sockets = [];

/** A peer host as a thread of this one, and `request(cmd, transfer)` → its answer. Ends with this process. */
async function startThread() {
  const thread = new Worker(new URL(import.meta.url));
  const requests = hostRequests((cmd, transfer) => thread.postMessage(cmd, transfer));
  thread.on('message', (msg) => requests.answer(msg));
  thread.on('error', (error) => requests.failAll(error));
  await requests.isReady;
  return requests;
}

async function handle(cmd) {
  switch (cmd.op) {
    case 'serve-port':
      await servePort(cmd.port, cmd.proto);
      return true;
    case 'listen': {
      const server = net.createServer({ noDelay: true }, (socket) => {
        sockets.push(socket);
        void serveSocket(socket, cmd.proto);
      });
      servers.push(server);
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
      return server.address().port;
    }
    case 'connect': {
      if (cmd.port) {
        callers.set(cmd.conn, await portCaller(cmd.port, cmd.proto));
        return true;
      }
      const socket = net.connect({ host: '127.0.0.1', port: cmd.tcpPort, noDelay: true });
      sockets.push(socket);
      await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      callers.set(cmd.conn, await socketCaller(socket, cmd.proto));
      return true;
    }
    case 'connect-thread': {
      const callee = await startThread();
      const { port1, port2 } = new MessageChannel();
      await callee.request({ op: 'serve-port', proto: cmd.proto, port: port2 }, [port2]);
      callers.set(cmd.conn, await portCaller(port1, cmd.proto));
      return true;
    }
    case 'connect-threads': {
      const [from, to] = [await startThread(), await startThread()];
      const { port1, port2 } = new MessageChannel();
      await to.request({ op: 'serve-port', proto: cmd.proto, port: port2 }, [port2]);
      await from.request({ op: 'connect', conn: cmd.conn, proto: cmd.proto, port: port1 }, [port1]);
      const run = (mode, arg) => from.request({ op: 'run', conn: cmd.conn, mode, arg });
      callers.set(cmd.conn, { rtt: (count) => run('rtt', count), pipelined: (ms) => run('pipelined', ms) });
      return true;
    }
    case 'run': {
      const caller = callers.get(cmd.conn);
      if (!caller) throw new Error(`no caller named ${cmd.conn}`);
      return cmd.mode === 'rtt' ? caller.rtt(cmd.arg) : caller.pipelined(cmd.arg);
    }
    case 'exit-at': {
      // Spin the last stretch: a timer alone can be late by a millisecond or more.
      setTimeout(
        () => {
          while (wallNow() < cmd.wallMs);
          process.exit(cmd.code);
        },
        Math.max(0, cmd.wallMs - wallNow() - 5),
      );
      return true;
    }
    default:
      throw new Error(`unknown command ${cmd.op}`);
  }
}

const onCommand = (cmd) => {
  handle(cmd).then(
    (value) => send({ id: cmd.id, value }),
    (error) => send({ id: cmd.id, error: String(error?.stack ?? error) }),
  );
};
if (parentPort) parentPort.on('message', onCommand);
else {
  process.on('message', onCommand);
  // Ends with its parent, like convoy's worker processes.
  process.on('disconnect', () => process.exit(0));
}
send({ ready: true });
