// Starting and ending the payload baseline's callee: a worker thread reached over its own MessageChannel.

import { once } from 'node:events';
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

/** Waits for `ready`, or rejects if the thread or process exits or fails first; leaves no listener behind. */
async function untilReady<T>(emitter: Worker, script: URL, ready: (signal: AbortSignal) => Promise<T>): Promise<T> {
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
