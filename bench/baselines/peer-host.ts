// Starting and commanding raw peer hosts (peer-host.mjs) from the bench process: a worker thread or a
// forked child process that serves or makes raw calls, and the connections between two of them.

import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { MessageChannel, Worker, type TransferListItem } from 'node:worker_threads';
import type { Latency } from '../loops.mjs';
import { hostRequests } from './host-requests.mjs';
import { portCaller, socketCaller, type PortProto, type RawCaller } from './raw-loops.mjs';

const SCRIPT = new URL('./peer-host.mjs', import.meta.url);

export type HostKind = 'thread' | 'process';

export interface Host {
  readonly kind: HostKind;
  readonly pid: number;
  /** The thread or process, for the death floors (terminate it, SIGKILL it, wait for its exit). */
  readonly handle: Worker | ChildProcess;
  request<T = unknown>(cmd: Record<string, unknown>, transfer?: TransferListItem[]): Promise<T>;
  /** Resolves when the thread or process has exited. */
  readonly exited: Promise<void>;
  close(): Promise<void>;
}

/** `execArgv`: Node flags for a process host (none by default). */
export async function startHost(kind: HostKind, { execArgv = [] }: { execArgv?: string[] } = {}): Promise<Host> {
  // A forked child is plain .mjs and must not pay for the bench's tsx: it gets only the flags asked for.
  const handle: Worker | ChildProcess =
    kind === 'thread' ? new Worker(SCRIPT) : fork(SCRIPT, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = once(handle, 'exit').then(() => undefined);
  const requests = hostRequests((cmd, transfer) => {
    if (kind === 'thread') (handle as Worker).postMessage(cmd, transfer);
    else (handle as ChildProcess).send(cmd);
  });
  handle.on('message', (msg) => requests.answer(msg));
  void exited.then(() => requests.failAll(new Error(`peer host (${kind}) exited`)));
  await Promise.race([requests.isReady, exited.then(() => Promise.reject(new Error(`peer host (${kind}) exited before it was ready`)))]);
  const pid = kind === 'thread' ? process.pid : (handle as ChildProcess).pid!;
  return {
    kind,
    pid,
    handle,
    exited,
    request: requests.request,
    async close() {
      if (kind === 'thread') await (handle as Worker).terminate();
      else if ((handle as ChildProcess).exitCode === null && (handle as ChildProcess).signalCode === null) {
        (handle as ChildProcess).kill();
        await exited;
      }
    },
  };
}

/** A caller named `conn` in `from`, connected to `to` over a fresh MessageChannel (threads) or TCP. */
export async function connect(from: Host, to: Host, conn: string, proto: PortProto): Promise<void> {
  if (from.kind === 'thread' && to.kind === 'thread') {
    const { port1, port2 } = new MessageChannel();
    await to.request({ op: 'serve-port', proto, port: port2 }, [port2]);
    await from.request({ op: 'connect', conn, proto, port: port1 }, [port1]);
    return;
  }
  const tcpPort = await to.request<number>({ op: 'listen', proto });
  await from.request({ op: 'connect', conn, proto, tcpPort });
}

/** One window of `mode` on a host's caller: p50/p99 µs for rtt, calls/s for pipelined. */
export function runOn(host: Host, conn: string, mode: 'rtt', arg: number): Promise<Latency>;
export function runOn(host: Host, conn: string, mode: 'pipelined', arg: number): Promise<number>;
export function runOn(host: Host, conn: string, mode: 'rtt' | 'pipelined', arg: number): Promise<Latency | number> {
  return host.request({ op: 'run', conn, mode, arg });
}

/** A caller in this (the bench's) thread to `to`: the coordinator's end of a raw baseline. */
export async function connectHere(to: Host, proto: PortProto): Promise<{ caller: RawCaller; close(): void }> {
  if (to.kind === 'thread') {
    const { port1, port2 } = new MessageChannel();
    await to.request({ op: 'serve-port', proto, port: port2 }, [port2]);
    const caller = await portCaller(port1, proto);
    return {
      caller,
      close() {
        caller.close();
        port1.close();
      },
    };
  }
  if (proto === 'clone' || proto === 'clone-rpc' || proto === 'birpc' || proto === 'comlink') {
    throw new Error(`protocol ${proto} does not run over TCP`);
  }
  const tcpPort = await to.request<number>({ op: 'listen', proto });
  const socket = net.connect({ host: '127.0.0.1', port: tcpPort, noDelay: true });
  await once(socket, 'connect');
  const caller = await socketCaller(socket, proto);
  return {
    caller,
    close() {
      caller.close();
      socket.destroy();
    },
  };
}
