/**
 * RPC over one channel: calls awaiting replies (a table by counter id) and one-way notifies, with what the
 * peer sends to this side's handlers served by the Responder (responder.ts), in the order it arrives.
 *
 * Queued and sent calls are both in `#pending` from the moment they are issued, so closing the channel
 * fails each of them exactly once, wherever it was.
 */
import type { Channel } from '../channel/channel.js';
import { ProtocolError, SerializationError, errorForMethod, errorFromWire, toError, unsendableArguments } from '../errors.js';
import { isSystemMethod, skipsFlowControl } from '../protocol/control.js';
import { Kind, type ExitNotice, type Message } from '../protocol/messages.js';
import { transferListOf } from '../protocol/transfer.js';
import { fillRpcOptions, type RpcOptions } from '../options.js';
import { CallLatency } from './call-latency.js';
import { PendingCall, type SentCallOptions } from './pending-call.js';
import { PendingTable } from './pending-table.js';
import { Responder, type ResponderConfig } from './responder.js';

/** The responder's settings (handlers, serial mode, names) and the caller's (default timeout). */
export interface EndpointConfig extends RpcOptions, ResponderConfig {
  /**
   * Given the error a close fails the calls with, a promise of a truer one that is about to be known (the
   * death the close turns out to be), or undefined. The calls then fail when it settles: the promise must
   * settle soon, whatever happens.
   */
  explainClose?: (error: Error) => Promise<Error> | undefined;
}

const RESOLVED = Promise.resolve();
/** For a call or notify refused before it was queued: it did not run. */
const NOT_SENT = { sent: false } as const;
const noop = (): void => {};
/** What the wait of a call taken back before it was sent rejects with: noise, the call has settled already. */
const WITHDRAWN = new Error('The call was taken back before it was sent');

/**
 * A call's promise takes its settlers through this one executor, not a closure made per call: `call` then
 * captures nothing, so V8 allocates no context for it and no executor function on every call.
 */
let capturedResolve: ((value: unknown) => void) | undefined;
let capturedReject: ((error: unknown) => void) | undefined;
function captureSettlers(resolve: (value: unknown) => void, reject: (error: unknown) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

export class Endpoint {
  readonly channel: Channel;
  readonly peerName: string | undefined;
  readonly #responder: Responder;
  readonly #callTimeoutMs: number;
  readonly #pending = new PendingTable<PendingCall>();
  readonly #closeListeners: ((error: Error) => void)[] = [];
  #nextId = 0;
  #closedWith: Error | undefined;
  readonly #explainClose: ((error: Error) => Promise<Error> | undefined) | undefined;
  /** The close's explanation on its way (see EndpointConfig.explainClose): calls fail once it is known. */
  #explaining: Promise<Error> | undefined;
  /** The peer's last words: it said it is exiting, with this code. */
  exitNotice: ExitNotice | undefined;
  #lastWordsListener: ((notice: ExitNotice) => void) | undefined;
  readonly counts = { calls: 0, notifies: 0, replies: 0, faults: 0, served: 0, faultsServed: 0 };
  /** Latency of this side's calls (not convoy's own), per method, sampled. */
  readonly latency = new CallLatency();

  constructor(channel: Channel, config: EndpointConfig = {}) {
    this.channel = channel;
    this.peerName = config.peerName;
    this.#responder = new Responder(channel, config, this.counts);
    this.#callTimeoutMs = fillRpcOptions(config).callTimeoutMs;
    this.#explainClose = config.explainClose;
    channel.start({
      message: (message) => this.#receive(message),
      notifies: (message, from, to) => this.#responder.receiveNotifies(message, from, to),
      close: (error) => this.#closed(error),
    });
  }

  get closed(): boolean {
    return this.#closedWith !== undefined;
  }

  /** Calls still waiting for room in the channel, by id, with the promise of their wait. */
  readonly #waitingCalls = new Map<number, Promise<void>>();

  /** Calls awaiting a reply (queued or sent). */
  get pendingCalls(): number {
    return this.#pending.size;
  }

  /** Handlers running now that asked for an abort signal. */
  get activeSignals(): number {
    return this.#responder.activeSignals;
  }

  /** Serves `api` from now on (a worker's API exists only once its module has loaded). */
  serve(api: object): void {
    this.#responder.serve(api);
  }

  onClose(listener: (error: Error) => void): void {
    if (this.#closedWith) listener(this.#closedWith);
    else this.#closeListeners.push(listener);
  }

  /** `listener` hears the peer's last words (it said it is exiting) as they arrive, before the channel closes. */
  onLastWords(listener: (notice: ExitNotice) => void): void {
    this.#lastWordsListener = listener;
  }

  call(method: string, args: unknown[], options?: SentCallOptions): Promise<unknown> {
    // Aborted already: nothing is sent, so the handler never starts; the signal's reason comes first, as
    // for fetch(), whatever else would refuse the call.
    if (options?.signal?.aborted) return Promise.reject(options.signal.reason);
    if (this.#closedWith) return this.#refusedAfterClose(method);
    const id = ++this.#nextId;
    const system = isSystemMethod(method);
    let waiting: Promise<void> | undefined;
    try {
      // convoy's own calls (NUL-prefixed) are not user messages: no flow control, no place in the user's queue.
      if (skipsFlowControl(method)) this.channel.sendSystem([Kind.Call, id, method, args], true);
      else waiting = this.channel.send([Kind.Call, id, method, args], true, transferListOf(args));
    } catch (error) {
      return Promise.reject(this.#refused(error, method));
    }
    // The counts are the user's traffic: convoy's own calls (stats, wiring, exits) are not in them.
    if (!system) this.counts.calls++;
    if (waiting) this.#trackWaiting(id, waiting);
    const promise = new Promise(captureSettlers);
    const pending = new PendingCall(id, method, capturedResolve!, capturedReject!);
    // Not kept here: they hold the promise, and through it the call's result once it settles.
    capturedResolve = capturedReject = undefined;
    const sampledOf = system ? 0 : this.latency.sample();
    if (sampledOf !== 0) {
      pending.startedAt = performance.now();
      pending.sampledOf = sampledOf;
    }
    this.#pending.set(pending);
    const timeoutMs = options?.timeoutMs ?? this.#callTimeoutMs;
    if (timeoutMs > 0 || options?.signal) this.#watch(pending, timeoutMs, options?.signal, waiting, options?.askedTimeoutMs);
    return promise;
  }

  /**
   * Until a call that waits for room leaves the wait, a death must be able to tell it never left
   * (`mayHaveRun: false`). It fails through #pending when the channel closes; its own rejection is noise.
   */
  #trackWaiting(id: number, waiting: Promise<void>): void {
    this.#waitingCalls.set(id, waiting);
    waiting.then(() => this.#waitingCalls.delete(id), noop);
  }

  /**
   * Rejects `pending` early on timeout or abort, and asks the callee to cancel it; one still waiting for
   * room is taken back instead, and never sent.
   */
  #watch(
    pending: PendingCall,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    waiting: Promise<void> | undefined,
    askedTimeoutMs: number | undefined,
  ): void {
    const cancel = (timedOutAfterMs?: number): void => {
      if (!waiting) {
        this.#cancel(pending, timedOutAfterMs);
        return;
      }
      if (this.channel.withdraw(waiting, WITHDRAWN)) {
        // No reply will come for it: it leaves the table now.
        this.#pending.take(pending.id);
        this.#waitingCalls.delete(pending.id);
        return;
      }
      // It has left (or is leaving) the wait: the cancel follows it, never overtakes it.
      waiting.then(() => this.#cancel(pending, timedOutAfterMs), noop);
    };
    pending.watch(timeoutMs, signal, this.peerName, cancel, askedTimeoutMs);
  }

  /** One-way: settles when the message is accepted into the channel, never when it is handled. */
  notify(method: string, args: unknown[]): Promise<void> {
    let accepted: Promise<void> | undefined;
    try {
      if (this.#closedWith) {
        accepted = this.#refusedAfterClose(method);
        accepted.catch(noop);
        return accepted;
      }
      if (skipsFlowControl(method)) this.channel.sendSystem([Kind.Notify, method, args], false);
      else accepted = this.channel.send([Kind.Notify, method, args], false, transferListOf(args));
      // The counts are the user's traffic, sent: a notify refused here (its argument, a full channel
      // under backpressure 'reject') is none.
      if (!isSystemMethod(method)) this.counts.notifies++;
      // Waiting for room: if the wait fails (the peer died, the channel closed), it was never sent.
      if (accepted) accepted = this.#notSentIfFailed(accepted, method);
    } catch (error) {
      accepted = Promise.reject(this.#refused(error, method));
    }
    if (!accepted) return RESOLVED;
    // Marked handled: fire-and-forget use never raises an unhandled rejection; `await` still sees it.
    accepted.catch(noop);
    return accepted;
  }

  /** A call or notify made after the close: not sent, failing with the close's error once it is known. */
  #refusedAfterClose(method: string): Promise<never> {
    const explaining = this.#explaining;
    if (explaining) return explaining.then((error) => Promise.reject(errorForMethod(error, method, NOT_SENT)));
    return Promise.reject(errorForMethod(this.#closedWith!, method, NOT_SENT));
  }

  /**
   * `waiting`, a message's wait for room, failing as a message that was not sent (`mayHaveRun: false`).
   * Failed by the channel's close, it fails as the calls that close failed do: with the close explained
   * (the coordinator's word of the death, for a channel that closed with no word of its own), not as cut off.
   */
  #notSentIfFailed(waiting: Promise<void>, method: string): Promise<void> {
    return waiting.catch((error: unknown) =>
      this.#closedWith ? this.#refusedAfterClose(method) : Promise.reject(errorForMethod(toError(error), method, NOT_SENT)),
    );
  }

  /** The error of a call or notify the channel refused: it did not run. */
  #refused(error: unknown, method: string): Error {
    if (error instanceof SerializationError) return unsendableArguments(error, method, this.peerName);
    return errorForMethod(toError(error), method, NOT_SENT);
  }

  /** Graceful: flushes what is queued, then closes. Calls still awaiting replies fail with `error`. */
  close(error: Error): void {
    if (this.#closedWith) return;
    this.channel.close();
    this.#closed(error);
  }

  /** Fails everything at once with `error`. */
  destroy(error: Error): void {
    this.channel.destroy(error);
  }

  ping(seq: number): void {
    this.channel.sendControl([Kind.Ping, seq]);
  }

  /** Asks the callee to cancel `pending`: for a timeout, with the time and the method, which its signal names. */
  #cancel(pending: PendingCall, timedOutAfterMs: number | undefined): void {
    if (this.#closedWith) return;
    this.channel.sendControl(
      timedOutAfterMs === undefined ? [Kind.Cancel, pending.id] : [Kind.Cancel, pending.id, timedOutAfterMs, pending.method],
    );
  }

  /**
   * Routes one message from the peer: calls and cancels to the responder, replies and faults to their
   * calls. (Notifies come by the channel listener's `notifies`, straight to the responder.)
   */
  #receive(message: Message): Promise<unknown> | undefined {
    switch (message[0]) {
      case Kind.Call:
        return this.#responder.receive(message);
      case Kind.Reply: {
        // A run of replies to consecutive calls: `[Reply, id, value, value, ...]` (see Outbox.appendReply).
        // One to an unknown call ends the channel at once; those behind it then find no call, quietly.
        for (let i = 2; i < message.length; i++) this.#settle(message[1] + i - 2, true, message[i]);
        return;
      }
      case Kind.Fault:
        this.#settle(message[1], false, errorFromWire(message[2], this.peerName));
        return;
      case Kind.Cancel:
        this.#responder.cancel(message[1], message.length === 4 ? { timeoutMs: message[2], method: message[3] } : undefined);
        return;
      case Kind.Ping:
        this.channel.sendControl([Kind.Pong, message[1]]);
        return;
      case Kind.Goodbye:
        if (message[1]) {
          this.exitNotice = message[1];
          this.#lastWordsListener?.(message[1]);
        }
        return;
      case Kind.Pong:
      case Kind.Settled:
        return;
    }
  }

  #settle(id: number, ok: boolean, value: unknown): void {
    const pending = this.#pending.take(id);
    if (!pending) {
      // After close() failed every call, replies the peer made before it learned of the close still come
      // in: late, not forged. Destroying the channel for them would cut off what the close is still sending.
      if (!this.#closedWith) this.channel.destroy(new ProtocolError(`Reply to unknown call id ${id}`));
      return;
    }
    this.channel.callSettled();
    if (pending.startedAt !== 0) this.latency.record(pending.method, pending.startedAt, pending.sampledOf, this.#nextId);
    if (!isSystemMethod(pending.method)) {
      if (ok) this.counts.replies++;
      else this.counts.faults++;
    }
    pending.settle(ok, value);
  }

  #closed(error: Error): void {
    if (this.#closedWith) return;
    this.#closedWith = error;
    const pending = this.#pending.drain();
    // A call that waited for room and had not left when the channel failed never ran. (One queued but not
    // yet flushed is counted as sent: telling it apart would cost every call.) Read now: the wait is the
    // channel's, as it was at the close.
    const sent = pending.map((call) => {
      const wait = this.#waitingCalls.get(call.id);
      return wait === undefined || this.channel.hasSent(wait);
    });
    const fail = (reason: Error): void => {
      for (let i = 0; i < pending.length; i++) pending[i]!.settle(false, errorForMethod(reason, pending[i]!.method, { sent: sent[i]! }));
    };
    const explaining = this.#explainClose?.(error);
    if (explaining) {
      this.#explaining = explaining;
      void explaining.then((explained) => {
        this.#closedWith = explained;
        this.#explaining = undefined;
        fail(explained);
      });
    } else fail(error);
    this.#waitingCalls.clear();
    this.#responder.close(error);
    for (const listener of this.#closeListeners.splice(0)) listener(error);
  }
}
