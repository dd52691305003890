// Starting and ending the baselines' callees: a worker thread reached over its own MessageChannel, or a
// forked child process reached over TCP on 127.0.0.1.

import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';

export interface Thread {
  readonly worker: Worker;
  /** Our end of the channel; the script gets the other end as `workerData.port`. */
  readonly port: MessagePort;
}

/** Starts `script` (a plain .mjs file) and waits for its 'ready' message on the port. */
export async function startThread(script: URL, data: Record<string, unknown> = {}): Promise<Thread> {
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(script, { workerData: { ...data, port: port2 }, transferList: [port2] });
  try {
    await untilReady(worker, script, (signal) => once(port1, 'message', { signal }));
  } catch (e) {
    port1.close();
    await worker.terminate();
    throw e;
  }
  return { worker, port: port1 };
}

export async function stopThread(t: Thread): Promise<void> {
  t.port.close();
  await t.worker.terminate();
}

export interface Child {
  readonly child: ChildProcess;
  readonly socket: net.Socket;
}

/** Forks `script`, waits for the port it listens on, and connects with Nagle off. */
export async function startChild(script: URL, args: string[] = []): Promise<Child> {
  // execArgv: [] so the child does not inherit `--import tsx`: the scripts are plain .mjs.
  const child = fork(script, args, { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const [msg] = (await untilReady(child, script, (signal) => once(child, 'message', { signal }))) as [{ port: number }];
    const socket = net.connect({ host: '127.0.0.1', port: msg.port, noDelay: true });
    await once(socket, 'connect');
    return { child, socket };
  } catch (e) {
    await stopProcess(child);
    throw e;
  }
}

export async function stopChild(c: Child): Promise<void> {
  c.socket.destroy();
  await stopProcess(c.child);
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill();
  await exited;
}

/** Waits for `ready`, or rejects if the thread or process exits or fails first; leaves no listener behind. */
async function untilReady<T>(emitter: Worker | ChildProcess, script: URL, ready: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const failed = Promise.race([once(emitter, 'exit', { signal: ac.signal }), once(emitter, 'error', { signal: ac.signal })]).then(
    ([code]) => {
      throw new Error(`${script.pathname} exited with code ${String(code)} before it was ready`);
    },
  );
  try {
    return await Promise.race([ready(ac.signal), failed]);
  } finally {
    ac.abort();
  }
}
