/**
 * RPC over one channel: calls awaiting replies (a table by counter id), one-way notifies, and dispatch of
 * what the peer sends to this side's handlers, in the order it arrives.
 *
 * Queued and sent calls are both in `#pending` from the moment they are issued, so closing the channel
 * fails each of them exactly once, wherever it was.
 */
import type { Channel } from '../channel/channel.js';
import {
  ProtocolError,
  SerializationError,
  errorForMethod,
  errorFromWire,
  errorToWire,
  ownErrorToWire,
  plainWireError,
  toError,
  type MethodNotFoundError,
  type WireError,
} from '../errors.js';
import { isSystemMethod } from '../protocol/control.js';
import { Kind, type ExitNotice, type Message } from '../protocol/messages.js';
import { transferListOf, transferListOfValue } from '../protocol/transfer.js';
import { fillRpcOptions, type RpcOptions } from '../options.js';
import { enterCall, exitCall, type CallContext } from './call-context.js';
import { Dispatcher } from './dispatch.js';
import { PendingCall, type CallOptions } from './pending-call.js';
import { PendingTable } from './pending-table.js';
import { SerialQueue } from './serial-queue.js';

export interface EndpointConfig extends RpcOptions {
  /** The handlers this side serves to the peer. None: every call from the peer fails with ERR_CONVOY_NO_METHOD. */
  api?: object;
  /** Finish each message from this peer before starting the next (awaiting async handlers). @default false */
  serial?: boolean;
  /** The peer's name, for errors and `currentCall().from`. */
  peerName?: string;
  /** This side's name, for MethodNotFoundError messages sent to the peer. */
  localName?: string;
  /**
   * Handlers for method names that start with NUL ("\0..."): convoy's own control calls between the
   * coordinator and a worker. A user API can never be reached by those names, nor can they by a user name.
   */
  system?: object;
  /** Where errors thrown by notify handlers go (nobody awaits them). @default process.emitWarning */
  onNotifyError?: (error: Error, method: string) => void;
}

const RESOLVED = Promise.resolve();
const NO_SYSTEM = new Dispatcher({});
const noop = (): void => {};

export class Endpoint {
  readonly channel: Channel;
  readonly peerName: string | undefined;
  readonly #config: EndpointConfig;
  #dispatcher: Dispatcher;
  readonly #system: Dispatcher | undefined;
  readonly #callTimeoutMs: number;
  readonly #pending = new PendingTable<PendingCall>();
  /** Abort controllers of running handlers that asked for a signal, by call id. */
  readonly #signals = new Map<number, AbortController>();
  readonly #serial: SerialQueue | undefined;
  /** Ids of calls from the peer still waiting their turn in serial mode, so a cancel can reach them. */
  readonly #queuedCalls = new Set<number>();
  readonly #closeListeners: ((error: Error) => void)[] = [];
  #nextId = 0;
  /** The id of the last call received: ids must increase. */
  #lastCallId = 0;
  #closedWith: Error | undefined;
  /** The peer's last words: it said it is exiting, with this code. */
  exitNotice: ExitNotice | undefined;
  readonly counts = { calls: 0, notifies: 0, replies: 0, faults: 0, served: 0 };

  constructor(channel: Channel, config: EndpointConfig = {}) {
    this.channel = channel;
    this.peerName = config.peerName;
    this.#config = config;
    this.#dispatcher = new Dispatcher(config.api ?? {}, config.localName);
    if (config.system) this.#system = new Dispatcher(config.system, config.localName);
    this.#callTimeoutMs = fillRpcOptions(config).callTimeoutMs;
    if (config.serial) this.#serial = new SerialQueue();
    channel.start({ message: (message) => this.#receive(message), close: (error) => this.#closed(error) });
  }

  get closed(): boolean {
    return this.#closedWith !== undefined;
  }

  /** Calls awaiting a reply (queued or sent). */
  get pendingCalls(): number {
    return this.#pending.size;
  }

  /** Handlers running now that asked for an abort signal. */
  get activeSignals(): number {
    return this.#signals.size;
  }

  /** Serves `api` from now on (a worker's API exists only once its module has loaded). */
  serve(api: object): void {
    this.#dispatcher = new Dispatcher(api, this.#config.localName);
  }

  onClose(listener: (error: Error) => void): void {
    if (this.#closedWith) listener(this.#closedWith);
    else this.#closeListeners.push(listener);
  }

  call(method: string, args: unknown[], options?: CallOptions): Promise<unknown> {
    if (this.#closedWith) return Promise.reject(errorForMethod(this.#closedWith, method));
    const id = ++this.#nextId;
    let waiting: Promise<void> | undefined;
    try {
      // convoy's own calls (NUL-prefixed) are not user messages: no flow control, no place in the user's queue.
      if (isSystemMethod(method)) this.channel.sendSystem([Kind.Call, id, method, args], true);
      else waiting = this.channel.send([Kind.Call, id, method, args], true, transferListOf(args));
    } catch (error) {
      return Promise.reject(errorForMethod(toError(error), method));
    }
    this.counts.calls++;
    // A call waiting for room fails through #pending when the channel closes; its own rejection is noise.
    waiting?.catch(noop);
    const timeoutMs = options?.timeoutMs ?? this.#callTimeoutMs;
    return new Promise((resolve, reject) => {
      const pending = new PendingCall(id, method, resolve, reject);
      this.#pending.set(pending);
      if (timeoutMs > 0 || options?.signal) {
        // A call still waiting for room is cancelled once it has left: a cancel sent now would overtake it.
        const cancel = (): void => {
          if (waiting) waiting.then(() => this.#cancel(id), noop);
          else this.#cancel(id);
        };
        pending.watch(timeoutMs, options?.signal, this.peerName, cancel);
      }
    });
  }

  /** One-way: settles when the message is accepted into the channel, never when it is handled. */
  notify(method: string, args: unknown[]): Promise<void> {
    let accepted: Promise<void> | undefined;
    try {
      if (this.#closedWith) throw errorForMethod(this.#closedWith, method);
      if (isSystemMethod(method)) this.channel.sendSystem([Kind.Notify, method, args], false);
      else accepted = this.channel.send([Kind.Notify, method, args], false, transferListOf(args));
    } catch (error) {
      accepted = Promise.reject(errorForMethod(toError(error), method));
    }
    this.counts.notifies++;
    if (!accepted) return RESOLVED;
    // Marked handled: fire-and-forget use never raises an unhandled rejection; `await` still sees it.
    accepted.catch(noop);
    return accepted;
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

  #cancel(id: number): void {
    if (!this.#closedWith) this.channel.sendControl([Kind.Cancel, id]);
  }

  /**
   * Returns a promise while a notify is still being handled (async, or queued in serial mode): the
   * channel holds back its acknowledgement until then, so notifies are flow-controlled end to end. A
   * call's acknowledgement is not held: calls are bounded by `maxInFlight`, and holding them could
   * deadlock a call cycle.
   */
  #receive(message: Message): Promise<unknown> | void {
    switch (message[0]) {
      case Kind.Call:
      case Kind.Notify: {
        const isNotify = message[0] === Kind.Notify;
        if (!isNotify) {
          // Call ids count up on each side: a repeated or smaller id is a forged or broken stream.
          const id = message[1];
          if (id <= this.#lastCallId) {
            this.channel.abort(new ProtocolError(`Call id ${id} is not above the previous call id ${this.#lastCallId}`));
            return;
          }
          this.#lastCallId = id;
        }
        // System calls (NUL-prefixed) never wait behind user handlers in serial mode.
        if (this.#serial && !isSystemMethod(isNotify ? message[1] : message[2])) {
          if (!isNotify) this.#queuedCalls.add(message[1]);
          const done = this.#serial.push(() => this.#serve(message), isNotify);
          return isNotify ? done : undefined;
        }
        const running = this.#serve(message);
        return isNotify ? running : undefined;
      }
      case Kind.Reply:
        return this.#settle(message[1], true, message[2]);
      case Kind.Fault:
        return this.#settle(message[1], false, errorFromWire(message[2], this.peerName));
      case Kind.Cancel:
        // A call cancelled while it waits its turn starts with its signal already aborted.
        if (this.#queuedCalls.has(message[1]) && !this.#signals.has(message[1])) this.#signals.set(message[1], new AbortController());
        this.#signals.get(message[1])?.abort(new Error('The caller cancelled this call'));
        return;
      case Kind.Ping:
        this.channel.sendControl([Kind.Pong, message[1]]);
        return;
      case Kind.Goodbye:
        if (message[1]) this.exitNotice = message[1];
        return;
      case Kind.Pong:
      case Kind.Settled:
        return;
    }
  }

  #settle(id: number, ok: boolean, value: unknown): void {
    const pending = this.#pending.take(id);
    if (!pending) {
      this.channel.abort(new ProtocolError(`Reply to unknown call id ${id}`));
      return;
    }
    this.channel.callSettled();
    if (ok) this.counts.replies++;
    else this.counts.faults++;
    pending.settle(ok, value);
  }

  /** Runs one call or notify. Returns a promise only for async handlers, so serial mode can wait on it. */
  #serve(message: Message): Promise<void> | undefined {
    this.counts.served++;
    const isCall = message[0] === Kind.Call;
    const id = isCall ? (message[1] as number) : 0;
    const method = (isCall ? message[2] : message[1]) as string;
    const args = (isCall ? message[3] : message[2]) as unknown[];
    if (isCall) this.#queuedCalls.delete(id);
    const dispatcher = isSystemMethod(method) ? (this.#system ?? NO_SYSTEM) : this.#dispatcher;
    const handler = dispatcher.handler(method);
    if (!handler) {
      this.#finish(isCall, id, method, false, undefined, dispatcher.notFound(method));
      return undefined;
    }
    let result: unknown;
    let thenable: boolean;
    const previous = enterCall(this.#context);
    try {
      this.#contextId = id;
      result = dispatcher.run(handler, args);
      // Inside the try: a result whose `then` getter throws is that handler's failure, not ours.
      thenable = result instanceof Promise || (typeof result === 'object' && result !== null && typeof (result as PromiseLike<unknown>).then === 'function');
    } catch (error) {
      this.#finish(isCall, id, method, false, error);
      return undefined;
    } finally {
      exitCall(previous);
    }
    if (thenable) {
      return Promise.resolve(result).then(
        (value) => this.#finish(isCall, id, method, true, value),
        (error) => this.#finish(isCall, id, method, false, error),
      );
    }
    this.#finish(isCall, id, method, true, result);
    return undefined;
  }

  /**
   * One context object per endpoint, pointed at the call now starting: `currentCall()` is only valid
   * synchronously at a handler's start, so nothing is allocated per call unless a handler asks for a signal.
   */
  #contextId = 0;
  #lifetime: AbortController | undefined;
  readonly #context: CallContext = (() => {
    const endpoint = this;
    return {
      get from() {
        return endpoint.peerName;
      },
      get signal() {
        const id = endpoint.#contextId;
        // A notify cannot be cancelled by its sender: its signal is the endpoint's own, aborted on close.
        if (id === 0) return (endpoint.#lifetime ??= new AbortController()).signal;
        let controller = endpoint.#signals.get(id);
        if (!controller) endpoint.#signals.set(id, (controller = new AbortController()));
        return controller.signal;
      },
    };
  })();

  /** `value` is the result, what the handler threw, or convoy's own error about this call (`own`). */
  #finish(isCall: boolean, id: number, method: string, ok: boolean, value: unknown, own?: MethodNotFoundError | SerializationError): void {
    if (isCall) this.#signals.delete(id);
    if (this.#closedWith) return;
    if (!isCall) {
      if (!ok) this.#reportNotifyError(toError(own ?? value), method);
      return;
    }
    if (ok) {
      try {
        this.channel.sendControl([Kind.Reply, id, value], transferListOfValue(value));
        return;
      } catch (error) {
        own = new SerializationError(`The result of \`${method}\` cannot be encoded: ${toError(error).message}`, { cause: error });
      }
    }
    const wire: WireError = own ? ownErrorToWire(own) : errorToWire(value);
    try {
      this.channel.sendControl([Kind.Fault, id, wire]);
    } catch {
      this.channel.sendControl([Kind.Fault, id, plainWireError(wire)]);
    }
  }

  #reportNotifyError(error: Error, method: string): void {
    if (this.#config.onNotifyError) this.#config.onNotifyError(error, method);
    else process.emitWarning(`convoy: notify handler \`${method}\` threw: ${error.stack ?? error.message}`, 'ConvoyNotifyWarning');
  }

  #closed(error: Error): void {
    if (this.#closedWith) return;
    this.#closedWith = error;
    const pending = this.#pending.drain();
    for (const call of pending) call.settle(false, errorForMethod(error, call.method));
    for (const controller of this.#signals.values()) controller.abort(error);
    this.#lifetime?.abort(error);
    this.#signals.clear();
    this.#serial?.clear();
    this.#queuedCalls.clear();
    for (const listener of this.#closeListeners.splice(0)) listener(error);
  }
}
