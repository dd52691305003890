/** A call awaiting its reply, with its optional deadline and abort signal. */
import { TimeoutError } from '../errors.js';
import { watchDeadline } from './abort-watch.js';

export interface CallOptions {
  /** Rejects with TimeoutError after this long and asks the callee to cancel. 0 disables. */
  timeoutMs?: number;
  /** Aborting it rejects the call with the signal's reason and asks the callee to cancel. */
  signal?: AbortSignal;
}

/** convoy's own: a call that waited for its channel goes on with the time it has left, `timeoutMs`. */
export interface SentCallOptions extends CallOptions {
  /** The timeout the caller asked for, which its TimeoutError names (not the time that was left). */
  askedTimeoutMs?: number;
}

export class PendingCall {
  readonly id: number;
  readonly method: string;
  /** `performance.now()` when the call was made, if its latency is timed (see CallLatency); else 0. */
  startedAt = 0;
  /** The calls a timed call stands for, as sampled when it was made (the sampling may change before it settles). */
  sampledOf = 1;
  #resolve: ((value: unknown) => void) | undefined;
  #reject: ((error: unknown) => void) | undefined;
  /** Stops watching its deadline and signal, once it settles. */
  #unwatch: (() => void) | undefined;

  constructor(id: number, method: string, resolve: (value: unknown) => void, reject: (error: unknown) => void) {
    this.id = id;
    this.method = method;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  /**
   * Rejects early on timeout or abort. The entry stays pending until the callee's reply or fault
   * arrives (then it is dropped quietly), so a late reply is never mistaken for a protocol error.
   * `cancel` is told the timeout that ran out, or nothing for an abort, which the callee's signal says.
   */
  watch(
    timeoutMs: number,
    signal: AbortSignal | undefined,
    worker: string | undefined,
    cancel: (timedOutAfterMs?: number) => void,
    askedTimeoutMs = timeoutMs,
  ): void {
    let timedOut: TimeoutError | undefined;
    const giveUp = (error: unknown): void => {
      if (!this.#reject) return;
      this.#finish(false, error);
      cancel(error === timedOut ? askedTimeoutMs : undefined);
    };
    const timeout = () => (timedOut = new TimeoutError(this.method, askedTimeoutMs, worker));
    const unwatch = watchDeadline(timeoutMs, signal, timeout, giveUp);
    // Settled already (its signal had aborted): nothing is left to stop.
    if (this.#reject) this.#unwatch = unwatch;
  }

  settle(ok: boolean, value: unknown): void {
    if (this.#reject) this.#finish(ok, value);
  }

  #finish(ok: boolean, value: unknown): void {
    const resolve = this.#resolve!;
    const reject = this.#reject!;
    this.#resolve = this.#reject = undefined;
    this.#unwatch?.();
    this.#unwatch = undefined;
    if (ok) resolve(value);
    else reject(value);
  }
}
