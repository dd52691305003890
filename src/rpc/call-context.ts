/**
 * What a handler can learn about the call it is serving: who sent it, and a signal that aborts when the
 * caller cancels (timeout, AbortSignal) or the channel closes. Read it synchronously at the start of the
 * handler, before the first `await`: convoy does not pay for async context tracking on every call.
 */
export interface CallContext {
  /** Name of the sending side, when the channel knows it. */
  readonly from: string | undefined;
  /** Aborts when the caller cancels this call or the channel closes. Created on first use. */
  readonly signal: AbortSignal;
}

let current: CallContext | undefined;

/** The context of the handler now starting. Throws outside a handler's synchronous start. */
export function currentCall(): CallContext {
  if (!current) throw new Error('currentCall() is only available synchronously at the start of a handler');
  return current;
}

/** Makes `context` current while a handler starts; returns what to restore with `exitCall`. */
export function enterCall(context: CallContext): CallContext | undefined {
  const previous = current;
  current = context;
  return previous;
}

export function exitCall(previous: CallContext | undefined): void {
  current = previous;
}
