/**
 * Many calls may share one AbortSignal (one controller cancels a batch). A listener per call on the signal
 * itself makes Node warn past ten (MaxListenersExceededWarning); here each signal gets one listener, which
 * calls those of the calls still watching it, and which is removed when the last of them stops watching:
 * Node keeps a signal from `AbortSignal.timeout()` or `AbortSignal.any()` alive while it has a listener, so
 * one left behind would keep every such signal, and what it holds, until it aborts (or for good).
 */
interface Watch {
  readonly watchers: Set<() => void>;
  readonly listener: () => void;
}

const watches = new WeakMap<AbortSignal, Watch>();

/** Calls `onAbort` once when `signal` aborts; returns what stops watching (idempotent). */
export function watchAbort(signal: AbortSignal, onAbort: () => void): () => void {
  let watch = watches.get(signal);
  if (!watch) {
    const watchers = new Set<() => void>();
    const listener = (): void => {
      watches.delete(signal);
      for (const watcher of watchers) watcher();
    };
    watch = { watchers, listener };
    watches.set(signal, watch);
    signal.addEventListener('abort', listener, { once: true });
  }
  const { watchers, listener } = watch;
  // Its own function, so that the same `onAbort` given twice is watched twice.
  const watcher = (): void => onAbort();
  watchers.add(watcher);
  return () => {
    if (!watchers.delete(watcher) || watchers.size > 0 || watches.get(signal) !== watch) return;
    watches.delete(signal);
    signal.removeEventListener('abort', listener);
  };
}

const stopNothing = (): void => {};

/**
 * Gives up on an operation, with `timedOut()`'s error once `timeoutMs` has passed (0: never), or with
 * `signal`'s reason when it aborts (at once, if it has). Returns what stops watching. `giveUp` may be
 * called twice (the timer and the signal both): the caller settles once. `keepAlive`: the timer keeps
 * the process alive, for an operation nothing else will settle meanwhile.
 */
export function watchDeadline(
  timeoutMs: number,
  signal: AbortSignal | undefined,
  timedOut: () => Error,
  giveUp: (reason: unknown) => void,
  keepAlive = false,
): () => void {
  if (signal?.aborted) {
    giveUp(signal.reason);
    return stopNothing;
  }
  let timer: NodeJS.Timeout | undefined;
  if (timeoutMs > 0) {
    timer = setTimeout(() => giveUp(timedOut()), timeoutMs);
    if (!keepAlive) timer.unref();
  }
  const unwatch = signal ? watchAbort(signal, () => giveUp(signal.reason)) : undefined;
  return () => {
    clearTimeout(timer);
    unwatch?.();
  };
}
