/**
 * A named target that outlives its channels: a proxy to worker "b" keeps working across b's restarts.
 *
 *   connecting ──bind──▶ open ──peer exited / channel lost──▶ down ──bind──▶ open ...
 *        └────────────────────────close / destroy────────────────────────▶ dead
 *
 * Calls made while the link has no endpoint wait, in order, for the next one, and the first of them asks
 * for a channel (`open`) when the link has someone to ask. While that ask is under way they wait for its
 * answer however long it takes: the one asked bounds it (it waits for a peer that is starting, and for
 * a live one that is busy). Otherwise each waits at most `waitMs`. In-flight calls of
 * an endpoint whose peer died fail there, once what the peer sent before dying has been read
 * (at-most-once). On a dead link every call rejects at once.
 */
import {
  ClusterClosedError,
  SerializationError,
  TimeoutError,
  WorkerDiedError,
  errorForMethod,
  errorFromWire,
  toError,
  unsendableArguments,
  type DeathReason,
  type WorkerDiedInfo,
} from '../errors.js';
import type { OpenReply, PeerExit } from '../protocol/control.js';
import { snapshotArguments } from '../protocol/snapshot.js';
import type { ExitNotice } from '../protocol/messages.js';
import type { Endpoint } from './endpoint.js';
import { watchDeadline } from './abort-watch.js';
import { ParkedCalls, type Parked } from './parked-calls.js';
import type { CallOptions } from './pending-call.js';
import type { Caller } from './remote.js';

type LinkState = 'connecting' | 'open' | 'down' | 'dead';

/**
 * How long calls cut off by their channel's close with no word of why wait for the word of the peer's death
 * (`peerExited`), which says how it died: the coordinator's word and the close follow each other within
 * milliseconds, in either order (as its own calls wait for a worker's exit, EXIT_REPORT_WAIT_MS).
 */
const DEATH_WORD_WAIT_MS = 1000;

interface DeathWaiter {
  incarnation: number;
  settle(died: WorkerDiedError | undefined): void;
}

/** Calls failed by the link itself never reached a channel: they did not run. */
const NOT_SENT = { sent: false } as const;

interface ParkedCall extends Parked {
  run(endpoint: Endpoint): void;
}

export interface LinkOptions {
  /**
   * How long a call waits for an endpoint while the peer connects or restarts, not counting the time an
   * `open` is under way (after a successful one, the time its channel takes to arrive).
   */
  waitMs: number;
  /** The default per-call timeout, which also bounds the time a call waits here. */
  callTimeoutMs?: number;
  /**
   * Asks for a channel to the peer; `had` is the pair number of the last channel this link had (0: none).
   * Without it, endpoints only come from outside (`bind`).
   */
  open?: (had: number) => Promise<OpenReply>;
}

export class Link implements Caller {
  readonly name: string;
  readonly #waitMs: number;
  readonly #callTimeoutMs: number;
  readonly #open: ((had: number) => Promise<OpenReply>) | undefined;
  #state: LinkState = 'connecting';
  #endpoint: Endpoint | undefined;
  readonly #parked: ParkedCalls<ParkedCall>;
  #deadError: Error | undefined;
  #lastDeath: WorkerDiedError | undefined;
  #incarnation = -1;
  /** The pair number of the current (or last) endpoint's channel; 0 before the first. */
  #pair = 0;
  /** The latest incarnation known to have ended (-1: none): an endpoint to it is never bound. */
  #endedUpTo = -1;
  #opening = false;
  /** A channel was refused while an ask was under way (see #refused): ask again once it is answered. */
  #askAgain = false;
  /** Closes waiting for the word of their incarnation's death (see `explainClose`). */
  #deathWaiters: DeathWaiter[] = [];

  constructor(name: string, { waitMs, callTimeoutMs = 0, open }: LinkOptions) {
    this.name = name;
    this.#waitMs = waitMs;
    this.#callTimeoutMs = callTimeoutMs;
    this.#open = open;
    this.#parked = new ParkedCalls(waitMs, (expired) => this.#waitExpired(expired));
  }

  /** The worker this link reaches (Caller: what its remotes show when inspected). */
  get peerName(): string {
    return this.name;
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
   * Routes calls to `endpoint` (of the peer's `incarnation`, on channel `pair`); parked calls go first, in
   * the order they were made. An endpoint to an incarnation older than the bound one, or known to have
   * ended, is refused and closed.
   */
  bind(endpoint: Endpoint, incarnation = this.#incarnation + 1, pair = this.#pair): void {
    if (this.#state === 'dead' || incarnation < this.#incarnation || incarnation <= this.#endedUpTo) {
      endpoint.destroy(this.#deadError ?? this.#lastDeath ?? new WorkerDiedError({ worker: this.name, reason: 'disconnected' }));
      this.#refused(pair);
      return;
    }
    const previous = this.#endpoint;
    this.#incarnation = incarnation;
    this.#pair = pair;
    this.#endpoint = endpoint;
    // A newer channel replaces one whose end was not reported yet: that one's peer is gone or it was lost.
    if (previous && previous !== endpoint) previous.channel.peerDied(new WorkerDiedError({ worker: this.name, reason: 'disconnected' }));
    this.#state = 'open';
    for (const call of this.#parked.takeAll()) call.run(endpoint);
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
      if (this.#state === 'open') this.#state = 'down';
      endpoint.channel.peerDied(error);
    }
    this.#lastDeath = error;
    this.#endedUpTo = Math.max(this.#endedUpTo, incarnation);
    this.#settleDeathWaiters(incarnation, error);
    if (!restarting) this.close(error);
  }

  /**
   * For an endpoint to incarnation `incarnation` (EndpointConfig.explainClose). A channel that closes with
   * no word of why (`disconnected`: the peer left no last words, as with a SIGKILL from outside convoy, or
   * a connection reset lost them) fails its calls with the death the coordinator reports for that
   * incarnation, which follows within milliseconds, instead of as cut off from a peer that may still run;
   * they wait for it at most DEATH_WORD_WAIT_MS.
   */
  explainClose(error: Error, incarnation: number): Promise<Error> | undefined {
    if (!(error instanceof WorkerDiedError) || error.reason !== 'disconnected') return undefined;
    if (this.#endedUpTo >= incarnation) {
      return this.#endedUpTo === incarnation && this.#lastDeath ? Promise.resolve(this.#lastDeath) : undefined;
    }
    if (this.#state === 'dead') return undefined;
    return new Promise((resolve) => {
      // Ref'd, as the calls it settles would be: they settle within the bound, not never.
      const timer = setTimeout(() => waiter.settle(undefined), DEATH_WORD_WAIT_MS);
      const waiter: DeathWaiter = {
        incarnation,
        settle: (died) => {
          clearTimeout(timer);
          this.#deathWaiters = this.#deathWaiters.filter((other) => other !== waiter);
          resolve(died ?? error);
        },
      };
      this.#deathWaiters.push(waiter);
    });
  }

  /** The word of `incarnation`'s end came (`error`), or none will (undefined: the link is dead). */
  #settleDeathWaiters(incarnation: number, error: WorkerDiedError | undefined): void {
    for (const waiter of this.#deathWaiters) {
      if (waiter.incarnation <= incarnation) waiter.settle(waiter.incarnation === incarnation ? error : undefined);
    }
  }

  /** The peer is gone for good: its endpoint is destroyed, every parked and later call fails with `error`. */
  destroy(error: Error): void {
    const endpoint = this.#endpoint;
    this.close(error);
    endpoint?.destroy(error);
  }

  /**
   * Every parked and later call fails with `error`, but the current endpoint is left open: calls already
   * on it may still settle (a graceful close waits for them, then destroys it). A link that is dead already
   * keeps its error, unless this is its cluster closing: a call made after that meets the closed cluster,
   * whatever became of the peer before.
   */
  close(error: Error): void {
    if (this.#state === 'dead') {
      if (error instanceof ClusterClosedError) this.#deadError = error;
      return;
    }
    this.#state = 'dead';
    this.#deadError = error;
    this.#endpoint = undefined;
    for (const call of this.#parked.takeAll()) call.fail(error);
    this.#settleDeathWaiters(Number.POSITIVE_INFINITY, undefined);
  }

  // `call` and `notify` hand the common case, an open channel, on at once; the parked paths are methods of
  // their own because their closures capture the arguments, and V8 makes a function's closure context as
  // it enters it: in `call` itself, every call would pay for one.
  call(method: string, args: unknown[], options?: CallOptions): Promise<unknown> {
    if (this.#endpoint) return this.#endpoint.call(method, args, options);
    return this.#callParked(method, args, options);
  }

  #callParked(method: string, args: unknown[], options?: CallOptions): Promise<unknown> {
    // As Endpoint.call: an aborted signal's reason first.
    if (options?.signal?.aborted) return Promise.reject(options.signal.reason);
    if (this.#deadError) return Promise.reject(errorForMethod(this.#deadError, method, NOT_SENT));
    try {
      // Taken as they are now, as an open channel would take them: the call may leave much later.
      args = snapshotArguments(args);
    } catch (error) {
      return Promise.reject(this.#unsendable(error, method));
    }
    return new Promise((resolve, reject) => {
      // The call's timeout and signal count from when it was made, including the time spent parked.
      const parkedAt = performance.now();
      const timeoutMs = options?.timeoutMs ?? this.#callTimeoutMs;
      const signal = options?.signal;
      let done = false;
      let unwatch: (() => void) | undefined;
      const finish = (): boolean => {
        if (done) return false;
        done = true;
        unwatch?.();
        return true;
      };
      const giveUp = (error: unknown): void => {
        if (!finish()) return;
        this.#parked.remove(parked);
        reject(error);
      };
      const parked: ParkedCall = {
        parkedAt,
        run: (endpoint) => {
          if (!finish()) return;
          const left = timeoutMs > 0 ? Math.max(1, timeoutMs - (performance.now() - parkedAt)) : 0;
          endpoint
            .call(method, args, left > 0 ? { ...options, timeoutMs: left, askedTimeoutMs: timeoutMs } : options)
            .then(resolve, reject);
        },
        fail: (error) => giveUp(errorForMethod(error, method, NOT_SENT)),
      };
      // Kept alive: while the call is parked, its timer is what will settle it.
      unwatch = watchDeadline(timeoutMs, signal, () => new TimeoutError(method, timeoutMs, this.name), giveUp, true);
      if (!done) this.#park(parked);
    });
  }

  notify(method: string, args: unknown[]): Promise<void> {
    if (this.#endpoint) return this.#endpoint.notify(method, args);
    return this.#notifyParked(method, args);
  }

  #notifyParked(method: string, args: unknown[]): Promise<void> {
    let result: Promise<void>;
    if (this.#deadError) {
      result = Promise.reject(errorForMethod(this.#deadError, method, NOT_SENT));
    } else {
      result = new Promise((resolve, reject) => {
        try {
          args = snapshotArguments(args);
        } catch (error) {
          reject(this.#unsendable(error, method));
          return;
        }
        this.#park({
          parkedAt: performance.now(),
          run: (endpoint) => endpoint.notify(method, args).then(resolve, reject),
          fail: (error) => reject(errorForMethod(error, method, NOT_SENT)),
        });
      });
    }
    result.catch(() => {});
    return result;
  }

  /** As the endpoint words a call it cannot send: naming the method and the worker. */
  #unsendable(error: unknown, method: string): unknown {
    return error instanceof SerializationError ? unsendableArguments(error, method, this.name) : error;
  }

  /**
   * Channel `pair` came for an incarnation that had ended (the word of its end overtook it), and was refused.
   * It is the channel this link had last (the next ask names it, to be replaced); calls waiting for it
   * ask for another now, or as soon as the ask under way is answered: a yes to that ask meant this channel.
   */
  #refused(pair: number): void {
    if (this.#state === 'dead' || this.#endpoint || pair <= this.#pair) return;
    this.#pair = pair;
    if (this.#opening) this.#askAgain = true;
    else if (this.#parked.length > 0) this.#requestOpen();
  }

  #park(call: ParkedCall): void {
    this.#parked.push(call);
    this.#requestOpen();
  }

  /** Asks for a channel, once at a time, while calls wait and there is someone to ask. */
  #requestOpen(): void {
    if (!this.#open || this.#opening || this.#state === 'dead') return;
    this.#opening = true;
    this.#parked.hold();
    this.#open(this.#pair).then(
      (reply) => {
        this.#opening = false;
        this.#parked.release();
        const askAgain = this.#askAgain;
        this.#askAgain = false;
        // On success the channel is bound now or on its way (a port hand-off can overtake the reply),
        // unless it came and was refused.
        if (reply.ok) {
          if (askAgain && !this.#endpoint && this.#parked.length > 0) this.#requestOpen();
          return;
        }
        if (reply.exit && !reply.exit.restarting) this.close(peerExitError(receivedPeerExit(reply.exit)));
        else if (reply.reason === undefined && this.#lastDeath && this.#endedUpTo >= this.#incarnation) {
          // Not ready in time, and no incarnation has come since the death we know of: still that death
          // (waiting out a restart), not a peer cut off, as the coordinator's own calls say.
          this.#failParked(this.#lastDeath);
        } else {
          const why = reply.reason === undefined ? 'No channel could be opened' : `No channel could be opened: ${reply.reason}`;
          this.#failParked(new WorkerDiedError({ worker: this.name, reason: 'disconnected' }, { cause: new Error(why) }));
        }
      },
      (error: unknown) => {
        this.#opening = false;
        this.#askAgain = false;
        this.#parked.release();
        this.#failParked(new WorkerDiedError({ worker: this.name, reason: 'disconnected' }, { cause: toError(error) }));
      },
    );
  }

  #failParked(error: Error): void {
    if (this.#endpoint) return;
    for (const call of this.#parked.takeAll()) call.fail(error);
  }

  #waitExpired(expired: ParkedCall[]): void {
    const error =
      this.#lastDeath ??
      new WorkerDiedError({ worker: this.name, reason: 'disconnected' }, { cause: new Error(`No connection within ${this.#waitMs} ms`) });
    for (const call of expired) call.fail(error);
  }
}

/** The coordinator's word of a peer's exit, its error rebuilt. */
export type ReceivedPeerExit = Omit<PeerExit, 'error'> & {
  /** For a crash, the uncaught error it crashed with, when known: a `RemoteError`. */
  error?: Error;
  /** The same as `exitCode`, as on the coordinator's `worker-exit` event. */
  code?: number;
};

/**
 * The coordinator's word of a peer's exit with its error rebuilt (a `RemoteError`): what a worker's
 * code sees, and what the calls it fails carry.
 */
export function receivedPeerExit(exit: PeerExit): ReceivedPeerExit {
  const { error, ...fields } = exit;
  const received: ReceivedPeerExit = error ? { ...fields, error: errorFromWire(error, exit.name) } : fields;
  if (exit.exitCode !== undefined) received.code = exit.exitCode;
  return received;
}

/** The WorkerDiedError a word of a peer's exit stands for. */
export function peerExitError(exit: ReceivedPeerExit): WorkerDiedError {
  return diedError(exit.name, exit.reason as DeathReason, exit);
}

/**
 * The death of `worker` as its closing channel shows it: what its last words say (exit or crash, with
 * the code) when it sent any, otherwise `fallback`.
 */
export function closedChannelError(worker: string, notice: ExitNotice | undefined, fallback: DeathReason, cause: unknown): WorkerDiedError {
  const info: WorkerDiedInfo = notice
    ? { worker, reason: notice.crashed ? 'crash' : 'exit', exitCode: notice.exitCode }
    : { worker, reason: fallback };
  const uncaught = uncaughtError(worker, notice);
  if (uncaught) info.error = uncaught;
  return new WorkerDiedError(info, cause ? { cause: toError(cause) } : undefined);
}

/** The error a worker's last words say it crashed with, as a `RemoteError` (like any error from a worker). */
export function uncaughtError(worker: string, notice: ExitNotice | undefined): Error | undefined {
  return notice?.error ? errorFromWire(notice.error, worker) : undefined;
}

export function diedError(
  worker: string,
  reason: DeathReason,
  details: { exitCode?: number | null; signal?: string | null; error?: Error | undefined } = {},
): WorkerDiedError {
  const info: ConstructorParameters<typeof WorkerDiedError>[0] = { worker, reason };
  if (details.exitCode !== undefined && details.exitCode !== null) info.exitCode = details.exitCode;
  if (details.signal) info.signal = details.signal;
  if (details.error) info.error = details.error;
  return new WorkerDiedError(info);
}
