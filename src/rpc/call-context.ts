/**
 * What a handler can learn about the call it is serving: who sent it, and a signal that aborts when the
 * caller cancels (timeout, AbortSignal) or the channel closes. Read it synchronously at the start of the
 * handler, before the first `await`: convoy does not pay for async context tracking on every call.
 */
export interface CallContext {
  /** Name of the sending side, when the channel knows it. */
  readonly from: string | undefined;
  /**
   * Aborts when the caller cancels this call or the channel closes. It is this call's, wherever it is read:
   * kept past an `await`, it still says whether this call was cancelled.
   */
  readonly signal: AbortSignal;
}

/** Where the handler now starting gets its context from: its responder, pointed at that call. */
export interface CallSource {
  /** The context of the call now starting, bound to that call: kept past an `await`, it stays that call's. */
  capture(): CallContext;
}

/**
 * The handler now starting, in one slot per thread shared by every copy of this module (Symbol.for, as
 * transfer marks and the worker brand are): a worker module that imports another copy of convoy than the
 * runtime's (its own dist/ beside a runtime from src/, a bundle of its own) reads the runtime's calls.
 */
const slot = ((globalThis as { [key: symbol]: unknown })[Symbol.for('convoy.currentCall')] ??= { current: undefined }) as {
  current: CallSource | undefined;
};

/** The context of the handler now starting. Throws outside a handler's synchronous start. */
export function currentCall(): CallContext {
  const source = slot.current;
  if (!source) throw new Error('currentCall() is only available synchronously at the start of a handler');
  return source.capture();
}

/** Makes `source` current while a handler starts; returns what to restore with `exitCall`. */
export function enterCall(source: CallSource): CallSource | undefined {
  const previous = slot.current;
  slot.current = source;
  return previous;
}

export function exitCall(previous: CallSource | undefined): void {
  slot.current = previous;
}
