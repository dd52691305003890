/**
 * Many calls may share one AbortSignal (one controller cancels a batch). A listener per call on the signal
 * itself makes Node warn past ten (MaxListenersExceededWarning) and keeps every one on the user's signal;
 * here each signal gets one listener, which calls those of the calls still watching it.
 */
const watchers = new WeakMap<AbortSignal, Set<() => void>>();

/** Calls `onAbort` once when `signal` aborts; returns what stops watching (idempotent). */
export function watchAbort(signal: AbortSignal, onAbort: () => void): () => void {
  let set = watchers.get(signal);
  if (!set) {
    const watching = new Set<() => void>();
    set = watching;
    watchers.set(signal, watching);
    signal.addEventListener(
      'abort',
      () => {
        watchers.delete(signal);
        for (const watcher of watching) watcher();
      },
      { once: true },
    );
  }
  // Its own function, so that the same `onAbort` given twice is watched twice.
  const watcher = (): void => onAbort();
  set.add(watcher);
  return () => {
    set.delete(watcher);
  };
}
