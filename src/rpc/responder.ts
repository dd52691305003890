/**
 * The serving half of an endpoint: runs what the peer sends to this side's handlers — calls and notifies,
 * started in the order they arrive (or one at a time, finished in order, in serial mode) — and answers
 * each call with a reply or a fault. A call's handler can read `currentCall()` for its caller and for a
 * signal the caller's cancel aborts.
 */
import type { Channel } from '../channel/channel.js';
import {
  ProtocolError,
  SerializationError,
  TimeoutError,
  errorToWire,
  ownErrorToWire,
  plainWireError,
  toError,
  type MethodNotFoundError,
  type WireError,
  WIRE_ERROR_MAX_STRING_CHARS,
} from '../errors.js';
import { isSystemMethod, skipsFlowControl } from '../protocol/control.js';
import { Kind, type CallMessage, type NotifyMessage } from '../protocol/messages.js';
import { sendable } from '../protocol/snapshot.js';
import { transferListOfValue } from '../protocol/transfer.js';
import { enterCall, exitCall, type CallContext, type CallSource } from './call-context.js';
import { Dispatcher } from './dispatch.js';
import { SerialQueue } from './serial-queue.js';

export interface ResponderConfig {
  /**
   * The handlers this side serves to the peer. None: every call from the peer fails with
   * ERR_CONVOY_NO_METHOD, unless `awaitApi` says they are still to come.
   */
  api?: object;
  /**
   * The handlers come later, with `serve()` (a worker's peers may reach it while its factory still runs):
   * until then what the peer sends waits for them, in order, instead of failing. Notifies hold their
   * acknowledgement meanwhile, so the peer cannot pile up work. Ignored when `api` is given.
   */
  awaitApi?: boolean;
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
  /**
   * Calls to these methods hold back their acknowledgement until they settle, as notifies do, so
   * the caller's window bounds the work it has outstanding here. Only for methods no call cycle can pass
   * through (a cycle under held acks could deadlock).
   */
  heldCalls?: ReadonlySet<string>;
  /**
   * Where errors thrown by notify handlers go (nobody awaits them). What it throws itself becomes a
   * warning too. @default process.emitWarning
   */
  onNotifyError?: (error: Error, method: string) => void;
}

const NO_SYSTEM = new Dispatcher({});

/** The user's messages this side served, and of its calls, those answered with a fault. */
export interface ServedCounts {
  served: number;
  faultsServed: number;
}

export class Responder {
  readonly #channel: Channel;
  readonly #config: ResponderConfig;
  /** Shared with the endpoint's counters: `served` and `faultsServed` are ours. */
  readonly #counts: ServedCounts;
  #dispatcher: Dispatcher;
  readonly #system: Dispatcher | undefined;
  /** Abort controllers of running handlers that asked for a signal, by call id. */
  readonly #signals = new Map<number, AbortController>();
  readonly #serial: SerialQueue | undefined;
  /** Ids of calls from the peer still waiting their turn in serial mode, so a cancel can reach them. */
  readonly #queuedCalls = new Set<number>();
  /**
   * The id of the last call received, of the user's calls and of convoy's own: ids must increase within
   * each. One counter numbers both on the caller's side, but convoy's own calls skip flow control, so
   * one can leave, and arrive, before user calls made earlier that wait for room.
   */
  #lastCallId = { user: 0, own: 0 };
  #closed = false;
  /** What the peer sent before the handlers existed (`awaitApi`), in order; undefined once served. */
  #early: (CallMessage | NotifyMessage)[] | undefined;
  /** Settles when the early messages are served (or dropped on close): their notifies' acknowledgement. */
  #earlyServed: Promise<void> | undefined;
  #releaseEarly: (() => void) | undefined;

  constructor(channel: Channel, config: ResponderConfig, counts: ServedCounts) {
    this.#channel = channel;
    this.#config = config;
    this.#counts = counts;
    this.#dispatcher = new Dispatcher(config.api ?? {}, config.localName);
    if (config.system) this.#system = new Dispatcher(config.system, config.localName);
    if (config.serial) this.#serial = new SerialQueue();
    if (config.awaitApi && !config.api) {
      this.#early = [];
      this.#earlyServed = new Promise((resolve) => (this.#releaseEarly = resolve));
    }
  }

  /** Handlers running now that took their call's context (currentCall()), or asked for its signal. */
  get activeSignals(): number {
    let count = this.#captured.size;
    for (const id of this.#signals.keys()) if (!this.#captured.has(id)) count++;
    return count;
  }

  /** Serves `api` from now on (a worker's API exists only once its module has loaded). */
  serve(api: object): void {
    this.#dispatcher = new Dispatcher(api, this.#config.localName);
    const early = this.#early;
    if (!early) return;
    this.#early = undefined;
    this.#releaseEarly!();
    for (const message of early) {
      if (this.#closed) return;
      void this.#start(message, message[0] === Kind.Call ? 3 : 2);
    }
  }

  /**
   * Starts a call from the peer. A call does not hold back its acknowledgement: calls are bounded by
   * `maxInFlight`, and holding them could deadlock a call cycle. Only a call to a method of `heldCalls`
   * does: it returns a promise while it runs.
   */
  receive(message: CallMessage): Promise<unknown> | undefined {
    // Call ids count up on each side: a repeated or smaller id is a forged or broken stream.
    const id = message[1];
    const lane = skipsFlowControl(message[2]) ? 'own' : 'user';
    if (id <= this.#lastCallId[lane]) {
      this.#channel.destroy(new ProtocolError(`Call id ${id} is not above the previous call id ${this.#lastCallId[lane]}`));
      return;
    }
    this.#lastCallId[lane] = id;
    if (this.#early && !isSystemMethod(message[2])) {
      this.#early.push(message);
      this.#queuedCalls.add(id);
      return;
    }
    return this.#start(message, 3);
  }

  /**
   * Starts the notifies of `message` (one, or a run: `[Notify, method, args, args, ...]`) whose arguments
   * are at `from` to `to`, in order. Returns those still being handled (async, queued in serial mode, or
   * waiting for the handlers to exist) by position, `holds[at - from]`: the channel holds back their
   * acknowledgement until then, so notifies are flow-controlled end to end.
   */
  receiveNotifies(message: NotifyMessage, from: number, to: number): (Promise<unknown> | undefined)[] | undefined {
    let holds: (Promise<unknown> | undefined)[] | undefined;
    // A handler may end the channel: the notifies behind it are then not served, as the channel would
    // not have delivered them had they come alone. (After a graceful close of this side the channel still
    // delivers what arrives, and it is served, as before.)
    for (let at = from; at < to && !this.#channel.closed; at++) {
      let hold: Promise<unknown> | undefined;
      if (this.#early && !isSystemMethod(message[1])) {
        this.#early.push([Kind.Notify, message[1], message[at] as unknown[]]);
        hold = this.#earlyServed;
      } else hold = this.#start(message, at);
      if (hold) (holds ??= [])[at - from] = hold;
    }
    return holds;
  }

  /**
   * Serves a message now, or queues it in serial mode; returns what holds back its acknowledgement. Its
   * arguments are at `at`: a call's at 3, a notify's at 2 or, in a run, further on.
   */
  #start(message: CallMessage | NotifyMessage, at: number): Promise<unknown> | undefined {
    const isNotify = message[0] === Kind.Notify;
    // System calls (NUL-prefixed) never wait behind user handlers in serial mode.
    if (this.#serial && !isSystemMethod(isNotify ? message[1] : message[2])) return this.#startInTurn(message, at, isNotify);
    const running = this.#serve(message, at);
    return isNotify || this.#config.heldCalls?.has(message[2]) ? running : undefined;
  }

  // The closures of serial mode and of async handlers live in methods of their own, not in #start and
  // #serve: V8 makes a function's closure context as it enters it, so every message would pay for one.

  /** Serial mode: queues the message behind the ones before it from this peer. */
  #startInTurn(message: CallMessage | NotifyMessage, at: number, isNotify: boolean): Promise<unknown> | undefined {
    if (!isNotify) this.#queuedCalls.add(message[1] as number);
    const done = this.#serial!.push(() => this.#serve(message, at), isNotify);
    return isNotify ? done : undefined;
  }

  /**
   * The peer cancelled call `id`: its signal aborts (at once, or as it starts if it waits its turn), with
   * a TimeoutError when the caller's timeout ran out, else an AbortError, as an aborted signal's own.
   */
  cancel(id: number, timedOut?: { timeoutMs: number; method: string }): void {
    const captured = this.#captured.get(id);
    if (!captured && this.#queuedCalls.has(id) && !this.#signals.has(id)) this.#signals.set(id, new AbortController());
    // A call that has settled, or never had a signal, has nothing to abort: no reason is made for it.
    const controller = captured ? (captured.controller ??= new AbortController()) : this.#signals.get(id);
    controller?.abort(
      timedOut ? new TimeoutError(timedOut.method, timedOut.timeoutMs) : new DOMException('The caller cancelled this call', 'AbortError'),
    );
  }

  /** The channel closed: every signal aborts with `error`, queued work is dropped, nothing more is answered. */
  close(error: Error): void {
    this.#closed = true;
    for (const controller of this.#signals.values()) controller.abort(error);
    for (const captured of this.#captured.values()) (captured.controller ??= new AbortController()).abort(error);
    (this.#lifetime ??= new AbortController()).abort(error);
    this.#signals.clear();
    this.#captured.clear();
    this.#serial?.clear();
    this.#queuedCalls.clear();
    this.#early = undefined;
    this.#releaseEarly?.();
  }

  /**
   * Runs one call or notify, its arguments at `at`. Returns a promise only for async handlers, so serial
   * mode can wait on it.
   */
  #serve(message: CallMessage | NotifyMessage, at: number): Promise<void> | undefined {
    const isCall = message[0] === Kind.Call;
    const id = isCall ? message[1] : 0;
    const method = isCall ? message[2] : message[1];
    const system = isSystemMethod(method);
    if (!system) this.#counts.served++;
    const args = message[at] as unknown[];
    // Checked first: a hash lookup on every call costs more than the size test, and both are usually empty.
    if (isCall && this.#queuedCalls.size > 0) this.#queuedCalls.delete(id);
    const dispatcher = system ? (this.#system ?? NO_SYSTEM) : this.#dispatcher;
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
      thenable = result instanceof Promise || isThenable(result);
    } catch (error) {
      this.#finish(isCall, id, method, false, error);
      return undefined;
    } finally {
      exitCall(previous);
    }
    if (thenable) return this.#finishWhenSettled(result as PromiseLike<unknown>, isCall, id, method);
    this.#finish(isCall, id, method, true, result);
    return undefined;
  }

  /** An async handler's result: answered when it settles. */
  #finishWhenSettled(result: PromiseLike<unknown>, isCall: boolean, id: number, method: string): Promise<void> {
    return Promise.resolve(result).then(
      (value) => this.#finish(isCall, id, method, true, value),
      (error) => this.#finish(isCall, id, method, false, error),
    );
  }

  /**
   * One source per responder, pointed at the call now starting (`#contextId`): `currentCall()` is only
   * valid synchronously at a handler's start, so nothing is allocated per call unless a handler asks. What
   * it gives is bound to that call, signal included: kept past an `await`, it is still that call's (read
   * lazily from the source, it was whichever call had started last).
   */
  #contextId = 0;
  #lifetime: AbortController | undefined;
  /**
   * Running calls whose handler took its context, each with the holder of its controller, which the
   * context keeps too: a cancel or the close makes it aborted, and the context finds it even if it reads
   * its signal only after the call has finished.
   */
  readonly #captured = new Map<number, { controller: AbortController | undefined }>();
  readonly #context: CallSource = { capture: () => this.#capture() };

  /**
   * The context of the call starting now. Its signal is made when first read (an AbortController costs
   * more than a call: a handler reading only `from` must not pay for one), from the call's id, not from
   * whichever call started last.
   */
  #capture(): CallContext {
    const from = this.#config.peerName;
    const id = this.#contextId;
    // A notify cannot be cancelled by its sender: its signal is the responder's own, aborted on close. So
    // is a call's that starts after the close (it arrived while the channel was closing): aborted already.
    if (id === 0 || this.#closed) return { from, signal: (this.#lifetime ??= new AbortController()).signal };
    // A queued call cancelled before it started (serial mode) has its aborted controller already.
    const holder = { controller: this.#signals.get(id) };
    this.#captured.set(id, holder);
    return {
      from,
      get signal() {
        holder.controller ??= new AbortController();
        return holder.controller.signal;
      },
    };
  }

  /** `value` is the result, what the handler threw, or convoy's own error about this call (`own`). */
  #finish(isCall: boolean, id: number, method: string, ok: boolean, value: unknown, own?: MethodNotFoundError | SerializationError): void {
    if (isCall && this.#signals.size > 0) this.#signals.delete(id);
    if (isCall && this.#captured.size > 0) this.#captured.delete(id);
    if (this.#closed) return;
    if (!isCall) {
      if (!ok) this.#reportNotifyError(toError(own ?? value), method);
      return;
    }
    if (ok) {
      try {
        this.#channel.sendControl([Kind.Reply, id, value], transferListOfValue(value));
        return;
      } catch (error) {
        own = new SerializationError(`The result of \`${method}\` cannot be encoded: ${toError(error).message}`, { cause: error });
      }
    }
    // A fault: the call failed in its handler (or its result could not be sent), as its caller counts it.
    if (!isSystemMethod(method)) this.#counts.faultsServed++;
    const wire: WireError = own ? ownErrorToWire(own) : errorToWire(value);
    // Each fallback smaller than the last, so that the caller always gets its fault: one that cannot be
    // sent (an error too large for a frame, say) must not throw from here, where nothing catches it and
    // the whole process would die of a handler's error.
    const attempts = [
      () => wire,
      // Its data may hold what the codec refuses (a function): each property that crosses on its own, whole.
      () => withSendableData(wire),
      // Or plain values only.
      () => plainWireError(wire),
      () => plainWireError(wire, WIRE_ERROR_MAX_STRING_CHARS),
      (): WireError => {
        const code = wire.data?.code;
        const message = `\`${method.slice(0, 100)}\` failed with an error too large to send (${String(wire.name).slice(0, 100)}: ${String(wire.message).slice(0, 200)}...)`;
        return {
          name: String(wire.name).slice(0, 100),
          message,
          ...(typeof code === 'string' ? { data: { code: code.slice(0, 100) } } : {}),
        };
      },
    ];
    for (const attempt of attempts) {
      try {
        this.#channel.sendControl([Kind.Fault, id, attempt()]);
        return;
      } catch {}
    }
    // Not even a short fault leaves: the channel cannot carry its replies, and the call must not hang.
    this.#channel.destroy(new ProtocolError(`The fault of \`${method}\` could not be sent`));
  }

  #reportNotifyError(error: Error, method: string): void {
    const hook = this.#config.onNotifyError;
    if (!hook) {
      process.emitWarning(`convoy: notify handler \`${method}\` threw: ${error.stack ?? error.message}`, 'ConvoyNotifyWarning');
      return;
    }
    // The hook runs inside the delivery of a frame: what it throws must not escape there, where it cut the
    // frame short, and a delivery resumed after a time slice served its notifies again.
    try {
      hook(error, method);
    } catch (hookError) {
      const thrown = toError(hookError);
      process.emitWarning(
        `convoy: onNotifyError threw (${thrown.stack ?? thrown.message}) while reporting that notify handler \`${method}\` threw: ${error.stack ?? error.message}`,
        'ConvoyNotifyWarning',
      );
    }
  }
}

/**
 * The same error with only the properties of its data, and of a thrown non-error value, that can be sent
 * (its causes' too): one function among them used to cost the caller every property that was not a
 * string, number, boolean or null.
 */
function withSendableData(wire: WireError): WireError {
  const copy: WireError = { ...wire };
  if (wire.data) copy.data = sendableEntries(wire.data);
  // A thrown non-error value (or cause) that cannot go whole: its properties that can, if it has any.
  if (wire.value !== undefined && !sendable(wire.value)) {
    const value = wire.value;
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      copy.value = sendableEntries(value as Record<string, unknown>);
    else delete copy.value;
  }
  if (wire.cause) copy.cause = withSendableData(wire.cause);
  return copy;
}

function sendableEntries(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => sendable(value)));
}

/** Whether `value` would be taken for a promise by `await`: an object with a `then` method. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
