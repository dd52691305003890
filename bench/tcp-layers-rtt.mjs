// One call at a time over loopback TCP: convoy's Endpoint and Channel over its TCP transport against
// minimal-rpc (bench/baselines/rpc-floors.mjs) over the raw bench's socket wire. Windows alternate, order
// swapped every pair; prints the medians and the median of per-pair ratios. Says whether convoy's own layers
// cost more than the smallest RPC once the rest of a worker is out of the picture (docs/benchmarks.md,
// "One call at a time, coordinator ↔ process").
//
// By default both ends of both arms are in this thread, so each round trip's time is the CPU both ends
// spend on it, with no scheduling between processes. With `--processes` the serving ends run in a forked
// child (both arms in the same two processes, so what the processes weigh is the same for both) and the
// scheduling between processes that the bench's coord↔process and process↔process rows pay is in; run it
// under `taskset -c 0` as those rows run. `--processes --bare` loads no convoy at all and runs minimal-rpc
// against itself on two connections: what minimal-rpc takes in processes that do not carry convoy.
//
//   npm run build && node bench/tcp-layers-rtt.mjs [pairs=11] [calls=5000]
//   npm run build && taskset -c 0 node bench/tcp-layers-rtt.mjs --processes [--bare] [pairs=11] [calls=5000]
import { fork } from 'node:child_process';
import net from 'node:net';
import { loadavg } from 'node:os';
import { floorClient, serveMinimal } from './baselines/rpc-floors.mjs';
import { socketWire } from './baselines/raw-loops.mjs';
import { loadLayers } from './layers.mjs';

const flags = new Set(process.argv.slice(2).filter((arg) => arg.startsWith('--') || arg === 'serve'));
const [pairs = 11, calls = 5000] = process.argv
  .slice(2)
  .filter((arg) => !flags.has(arg))
  .map(Number);
const processes = flags.has('--processes');
const bare = processes && flags.has('--bare');
const layers = bare ? undefined : await loadLayers(new URL('../dist/bundle/convoy.js', import.meta.url).href);
const tcp = (socket) => new layers.TcpTransport(socket, { maxFrameBytes: 1 << 26 });

/** Serves `protocol` on `socket`: convoy's `inc`, or minimal-rpc's. */
function serve(socket, protocol) {
  if (protocol === 'convoy') {
    let n = 0;
    new layers.Endpoint(new layers.Channel(tcp(socket)), { api: { inc: (by) => (n += by) } });
  } else serveMinimal(socketWire(socket, 'minimal-rpc'));
}

/** The calling end of `protocol` on `socket`: `inc(by)` → Promise. */
function client(socket, protocol) {
  if (protocol === 'minimal') return floorClient(socketWire(socket, 'minimal-rpc'), 'minimal-rpc', 1000);
  const caller = new layers.Endpoint(new layers.Channel(tcp(socket)));
  return (by) => caller.call('inc', [by]);
}

/** Two ends of one loopback connection in this thread, TCP_NODELAY on both. */
async function socketPair() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise((resolve) => server.once('connection', resolve));
  const dialed = net.connect(server.address().port, '127.0.0.1');
  await new Promise((resolve) => dialed.once('connect', resolve));
  const ends = [dialed, await accepted];
  server.close();
  for (const socket of ends) socket.setNoDelay(true);
  return ends;
}

/** A forked child serving both protocols; each connection names its protocol in its first bytes. */
async function startServer() {
  const child = fork(new URL(import.meta.url), ['serve', ...(bare ? ['--processes', '--bare'] : ['--processes'])]);
  const port = await new Promise((resolve) => child.once('message', resolve));
  const dial = async (protocol) => {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.setNoDelay(true);
    socket.write(protocol);
    await new Promise((resolve) => socket.once('data', resolve));
    return socket;
  };
  return { dial, stop: () => child.disconnect() };
}

if (flags.has('serve')) {
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.once('data', (hello) => {
      socket.pause();
      serve(socket, hello.toString());
      socket.write('k');
      socket.resume();
    });
  });
  server.listen(0, '127.0.0.1', () => process.send(server.address().port));
  process.on('disconnect', () => process.exit(0));
} else {
  const server = processes ? await startServer() : undefined;
  const sockets = [];
  /** An arm: `protocol`'s client, its serving end here or in the child. */
  const arm = async (protocol) => {
    if (server) return client(await server.dial(protocol), protocol);
    const [a, b] = await socketPair();
    sockets.push(a, b);
    serve(b, protocol);
    return client(a, protocol);
  };
  const arms = bare
    ? { 'minimal again': await arm('minimal'), minimal: await arm('minimal') }
    : { convoy: await arm('convoy'), minimal: await arm('minimal') };
  const [subject, baseline] = Object.keys(arms);

  /** µs per round trip over `count` sequential calls. */
  const window = async (inc, count) => {
    const started = performance.now();
    for (let i = 0; i < count; i++) await inc(1);
    return ((performance.now() - started) * 1000) / count;
  };
  for (const inc of Object.values(arms)) await window(inc, calls);
  const rows = [];
  for (let i = 0; i < pairs; i++) {
    const row = {};
    for (const name of i % 2 ? [subject, baseline] : [baseline, subject]) row[name] = await window(arms[name], calls);
    rows.push(row);
  }
  for (const socket of sockets) socket.destroy();
  server?.stop();

  const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
  const ratios = rows.map((row) => row[subject] / row[baseline]);
  const where = processes ? `two processes${bare ? ', no convoy loaded' : ''}` : 'both ends in one thread';
  console.log(`${pairs} pairs of ${calls} calls, ${where}, 1-minute load ${loadavg()[0].toFixed(1)}`);
  const names = {
    convoy: 'convoy Endpoint + Channel over TCP',
    minimal: 'minimal-rpc over the raw socket wire',
    'minimal again': 'minimal-rpc again',
  };
  for (const name of [subject, baseline]) console.log(`${names[name]}: ${median(rows.map((r) => r[name])).toFixed(1)} µs per round trip`);
  console.log(
    `${subject} / ${baseline}: ${median(ratios).toFixed(3)}× (median of per-pair ratios; range ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`,
  );
  process.exit(0);
}
