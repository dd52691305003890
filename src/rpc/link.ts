/**
 * A named target that outlives its channels: a proxy to worker "b" keeps working across b's restarts.
 *
 *   connecting ──bind──▶ open ──unbind──▶ down ──bind──▶ open ...
 *        └──────────────────────kill────────────────────▶ dead
 *
 * Calls made while the link is connecting or down wait, in order, for the next endpoint (bounded by
 * `waitMs`); in-flight calls of a closed endpoint have already failed there (at-most-once). On a dead
 * link every call rejects at once.
 */
import { TimeoutError, WorkerDiedError, errorForMethod, toError, type DeathReason, type WorkerDiedInfo } from '../errors.js';
import type { ExitNotice } from '../protocol/messages.js';
import type { Endpoint } from './endpoint.js';
import type { CallOptions } from './pending-call.js';
import { ParkedCalls, type Parked } from './parked-calls.js';
import type { Caller } from './remote.js';

type LinkState = 'connecting' | 'open' | 'down' | 'dead';

/** Calls failed by the link itself never reached a channel: they did not run. */
const NOT_SENT = { sent: false } as const;

interface ParkedCall extends Parked {
  run(endpoint: Endpoint): void;
}

export class Link implements Caller {
  readonly name: string;
  readonly #waitMs: number;
  #state: LinkState = 'connecting';
  #endpoint: Endpoint | undefined;
  readonly #parked: ParkedCalls<ParkedCall>;
  #deadError: Error | undefined;
  #lastDeath: WorkerDiedError | undefined;
  #incarnation = -1;
  /** The latest incarnation the coordinator said has ended (-1: none). */
  #endedUpTo = -1;
  readonly #bindWaiters = new Set<{ incarnation: number; resolve: (bound: boolean) => void }>();

  readonly #callTimeoutMs: number;

  /**
   * @param waitMs how long calls wait for an endpoint while the peer connects or restarts.
   * @param callTimeoutMs the default per-call timeout, which also bounds the time a call waits here.
   */
  constructor(name: string, { waitMs, callTimeoutMs = 0 }: { waitMs: number; callTimeoutMs?: number }) {
    this.name = name;
    this.#waitMs = waitMs;
    this.#callTimeoutMs = callTimeoutMs;
    this.#parked = new ParkedCalls(waitMs, (expired) => this.#waitExpired(expired));
  }

  get state(): LinkState {
    return this.#state;
  }

  get endpoint(): Endpoint | undefined {
    return this.#endpoint;
  }

  /** The incarnation of the peer behind the current (or last) endpoint; -1 before the first. */
  get incarnation(): number {
    return this.#incarnation;
  }

  /**
   * Resolves with true once an endpoint of `incarnation` or later is bound, or with false once that
   * incarnation has ended or the link is dead: wiring waits for a channel, never for a peer that is gone.
   */
  whenBound(incarnation: number): Promise<boolean> {
    if (this.#endpoint && this.#incarnation >= incarnation) return Promise.resolve(true);
    if (this.#state === 'dead' || this.#endedUpTo >= incarnation) return Promise.resolve(false);
    return new Promise((resolve) => this.#bindWaiters.add({ incarnation, resolve }));
  }

  /**
   * Routes calls to `endpoint` (of the peer's `incarnation`); parked calls go first, in the order they
   * were made. An endpoint of an older incarnation than the bound one is refused and closed.
   */
  bind(endpoint: Endpoint, incarnation = this.#incarnation + 1): void {
    if (this.#state === 'dead' || incarnation < this.#incarnation) {
      endpoint.destroy(this.#deadError ?? new WorkerDiedError({ worker: this.name, reason: 'disconnected' }));
      return;
    }
    const previous = this.#endpoint;
    this.#incarnation = incarnation;
    this.#endpoint = endpoint;
    // A newer incarnation replaces one whose end was not reported yet: the old one is dead.
    if (previous && previous !== endpoint) previous.channel.peerDied(new WorkerDiedError({ worker: this.name, reason: 'disconnected' }));
    this.#state = 'open';
    for (const call of this.#parked.takeAll()) call.run(endpoint);
    this.#wakeBindWaiters(incarnation, true);
    endpoint.onClose((error) => {
      if (this.#endpoint !== endpoint) return;
      this.#endpoint = undefined;
      if (error instanceof WorkerDiedError) this.#lastDeath = error;
      if (this.#state === 'open') this.#state = 'down';
    });
  }

  /**
   * Incarnation `incarnation` of the peer has exited. Its endpoint may not have seen the close yet (the
   * word of the death can come before the last frames the peer sent): it leaves the link now, so calls
   * from here on wait for the next incarnation (`restarting`) or fail at once, while calls already on it
   * still get the replies that are on their way, and fail with `error` once its transport is closed.
   */
  peerExited(incarnation: number, error: WorkerDiedError, restarting = true): void {
    const endpoint = this.#endpoint;
    if (endpoint && this.#incarnation <= incarnation) {
      this.#endpoint = undefined;
      this.#lastDeath = error;
      if (this.#state === 'open') this.#state = 'down';
      endpoint.channel.peerDied(error);
    }
    this.#endedUpTo = Math.max(this.#endedUpTo, incarnation);
    this.#wakeBindWaiters(incarnation, false);
    if (!restarting) this.close(error);
  }

  /** The peer is gone for good: its endpoint is destroyed, every parked and later call fails with `error`. */
  destroy(error: Error): void {
    const endpoint = this.#endpoint;
    this.close(error);
    endpoint?.destroy(error);
  }

  /**
   * Every parked and later call fails with `error`, but the current endpoint is left open: calls already
   * on it may still settle (a graceful close waits for them, then destroys it).
   */
  close(error: Error): void {
    if (this.#state === 'dead') return;
    this.#state = 'dead';
    this.#deadError = error;
    this.#endpoint = undefined;
    for (const call of this.#parked.takeAll()) call.fail(error);
    this.#wakeBindWaiters(Infinity, false);
  }

  /** Settles the `whenBound` waits for `incarnation` and older. */
  #wakeBindWaiters(incarnation: number, bound: boolean): void {
    for (const waiter of this.#bindWaiters) {
      if (waiter.incarnation <= incarnation) {
        this.#bindWaiters.delete(waiter);
        waiter.resolve(bound);
      }
    }
  }

  call(method: string, args: unknown[], options?: CallOptions): Promise<unknown> {
    if (this.#endpoint) return this.#endpoint.call(method, args, options);
    if (this.#deadError) return Promise.reject(errorForMethod(this.#deadError, method, NOT_SENT));
    return new Promise((resolve, reject) => {
      // The call's timeout and signal count from when it was made, including the time spent parked.
      const parkedAt = performance.now();
      const timeoutMs = options?.timeoutMs ?? this.#callTimeoutMs;
      const signal = options?.signal;
      let done = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (): boolean => {
        if (done) return false;
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        return true;
      };
      const giveUp = (error: unknown): void => {
        if (!finish()) return;
        this.#parked.remove(parked);
        reject(error);
      };
      const onAbort = (): void => giveUp(signal!.reason);
      const parked: ParkedCall = {
        parkedAt,
        run: (endpoint) => {
          if (!finish()) return;
          const left = timeoutMs > 0 ? Math.max(1, timeoutMs - (performance.now() - parkedAt)) : 0;
          endpoint.call(method, args, left > 0 ? { ...options, timeoutMs: left } : options).then(resolve, reject);
        },
        fail: (error) => giveUp(errorForMethod(error, method, NOT_SENT)),
      };
      if (signal?.aborted) return giveUp(signal.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs > 0) {
        // Not unref'd: while the call is parked, this timer is what will settle it.
        timer = setTimeout(() => giveUp(new TimeoutError(method, timeoutMs, this.name)), timeoutMs);
      }
      this.#parked.push(parked);
    });
  }

  notify(method: string, args: unknown[]): Promise<void> {
    if (this.#endpoint) return this.#endpoint.notify(method, args);
    let result: Promise<void>;
    if (this.#deadError) {
      result = Promise.reject(errorForMethod(this.#deadError, method, NOT_SENT));
    } else {
      result = new Promise((resolve, reject) => {
        this.#parked.push({
          parkedAt: performance.now(),
          run: (endpoint) => endpoint.notify(method, args).then(resolve, reject),
          fail: (error) => reject(errorForMethod(error, method, NOT_SENT)),
        });
      });
    }
    result.catch(() => {});
    return result;
  }

  #waitExpired(expired: ParkedCall[]): void {
    const error =
      this.#lastDeath ??
      new WorkerDiedError({ worker: this.name, reason: 'disconnected' }, { cause: new Error(`No connection within ${this.#waitMs} ms`) });
    for (const call of expired) call.fail(error);
  }
}

/**
 * The death of `worker` as its closing channel shows it: what its last words say (exit or crash, with
 * the code) when it sent any, otherwise `fallback`.
 */
export function closedChannelError(worker: string, notice: ExitNotice | undefined, fallback: DeathReason, cause: unknown): WorkerDiedError {
  const info: WorkerDiedInfo = notice
    ? { worker, reason: notice.crashed ? 'crash' : 'exit', exitCode: notice.exitCode }
    : { worker, reason: fallback };
  return new WorkerDiedError(info, cause ? { cause: toError(cause) } : undefined);
}

export function diedError(
  worker: string,
  reason: DeathReason,
  details: { exitCode?: number | null; signal?: string | null } = {},
): WorkerDiedError {
  const info: ConstructorParameters<typeof WorkerDiedError>[0] = { worker, reason };
  if (details.exitCode !== undefined && details.exitCode !== null) info.exitCode = details.exitCode;
  if (details.signal) info.signal = details.signal;
  return new WorkerDiedError(info);
}
