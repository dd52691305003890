/**
 * How a closing cluster ends one worker: asked to shut down (it answers once its queued replies have
 * left), given a moment to exit by itself, then made to (terminate, SIGKILL, or its agent's kill).
 */
import type { ClusterClosedError } from '../errors.js';
import { type ShutdownAnswer, System } from '../protocol/control.js';
import type { WorkerHandle } from './worker-handle.js';

/** How long a worker has to answer the shutdown call, then to exit by itself, before it is killed. */
const SHUTDOWN_GRACE_MS = 1000;
const EXIT_GRACE_MS = 500;

/**
 * Ends `handle`'s worker. Resolves once it has exited — for a worker on another host, once its agent
 * said so or after a grace period: its host is told goodbye afterwards, and its agent ends what is left.
 */
export async function shutDownWorker(handle: WorkerHandle, closed: ClusterClosedError): Promise<void> {
  const child = handle.child;
  if (child && !child.hasExited && handle.control?.closed === false) {
    // From here its exit is the close's, not a death; and its control channel's close is no sign of one.
    handle.shuttingDown();
    const answer = (await handle.control.call(System.shutdown, [], { timeoutMs: SHUTDOWN_GRACE_MS }).catch(() => undefined)) as
      | ShutdownAnswer
      | undefined;
    handle.control.destroy(closed);
    // Its code has cleanup to do about the shutdown (it saw ctx.signal abort): that gets this long. One
    // with none, or that did not answer (busy: it never saw the word), is ended now.
    if (answer?.cleanup === true) await within(child.exited, EXIT_GRACE_MS);
  }
  handle.destroy(closed);
  if (handle.host === undefined) await child?.exited;
  else if (child) await within(child.exited, EXIT_GRACE_MS);
}

/** Waits for `promise` to settle, or `ms`, whichever comes first; never rejects. */
export async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
