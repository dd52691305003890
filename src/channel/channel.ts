/**
 * One ordered, batched channel between two endpoints, over any transport.
 *
 * Messages are encoded when they are queued (so a bad argument fails its own message only) and leave
 * as one frame per batch, when the flush policy says (flush-policy.ts). Every frame starts with a header
 * `[acked, dataCost]`: the window cost of the peer's data this side has handled since its last frame
 * (the ack), and the cost of the data this frame carries. Acks give per-channel flow control over
 * transports that have none of their own (MessagePort): data messages wait while `maxQueuedBytes` of
 * cost are queued or unacked (send-window.ts).
 * Control messages (replies, faults, cancels, pings) never wait, so flow control cannot deadlock a reply.
 * Buffers marked with `transfer()` travel beside the frame on transports that can move them (a
 * MessagePort) and count against the window like encoded bytes; elsewhere they are encoded inline.
 *
 * On a transport that carries values (a MessagePort), a plain message (numbers, strings, ...; plain.ts) that
 * finds the queue empty is not encoded at once: if it leaves alone, as one call at a time does, it leaves
 * as a value frame, cloned by the port — cheaper than encoding, posting and decoding its bytes. If another
 * message joins it first, it is encoded then, ahead of that one, and leaves in the batch like any other.
 *
 * The channel knows nothing of RPC: it hands each decoded message, in order, to one listener.
 */
import { ChannelFullError, ClusterClosedError, ProtocolError, SerializationError, toError } from '../errors.js';
import { Decoder, Encoder, isEncoding, REENTRANT_SEND } from '../protocol/codec.js';
import { type CallMessage, type ExitNotice, Kind, type Message, type NotifyMessage } from '../protocol/messages.js';
import { copyPlainMessage, plainMessageBytes } from '../protocol/plain.js';
import { prepareTransfer } from '../protocol/transfer.js';
import { fillChannelOptions, type ChannelOptions, type FilledChannelOptions } from '../options.js';
import type { ReceivedFrame, Transport, ValueFrame } from '../transport/transport.js';
import { FlushPolicy } from './flush-policy.js';
import { frameLength, headerLength, MessageSizes, parseFrame, type ParsedFrame, runShare } from './frame.js';
import { Keepalive } from './keepalive.js';
import { Outbox } from './outbox.js';
import { ChannelStats } from './stats.js';
import { MESSAGE_OVERHEAD_BYTES, SendWindow } from './send-window.js';
import type { Waiter } from './wait-queue.js';
import { clock } from '../clock.js';

/** A message must leave this much of `maxFrameBytes` for the frame's header. */
const FRAME_HEADER_ROOM_BYTES = 64;

/**
 * How long the handlers of received frames may run in one turn of the event loop before the rest wait
 * for the next (checked after a frame's first message, then at strides doubling to 64, each notify of a
 * run counting as one: see #deliver). A frame carries up to `maxBatchBytes` of messages, thousands
 * of notifies: run in one go, handlers of a millisecond each held the event loop for seconds, and the
 * coordinator ended a healthy worker as hung. Between slices the thread answers pings and timers fire.
 */
export const DELIVERY_SLICE_MS = 50;

/**
 * Whether a time slice can end inside the delivery of `messages` (see Channel#deliver, which reads the
 * clock only after a first message or a first notify): false for a lone message, as one call at a time
 * sends, which then costs no clock read.
 */
function mayBeCut(messages: readonly Message[]): boolean {
  return messages.length > 1 || (messages.length === 1 && messages[0]![0] === Kind.Notify && messages[0]!.length > 3);
}

/**
 * A received frame on its way to the listener: its messages from `next` on are still to be handed over,
 * message `next` itself from position `nextAt` when it is a notify run a time slice ended inside.
 */
interface Delivery {
  messages: Message[];
  sizes: MessageSizes;
  next: number;
  /** The position in message `next` of the first notify still to hand over; 0 when it starts whole. */
  nextAt: number;
  /** Its window cost, and how much of it handlers hold (acknowledged as they finish). */
  dataCost: number;
  held: number;
}

export interface ChannelListener {
  /**
   * Handles one message, never a notify (those come by `notifies`). Returning a promise holds back the
   * acknowledgement of that message (its share of its frame's cost) until it settles: a slow consumer then
   * slows its producer instead of piling up work.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a listener may return nothing at all
  message(message: Message): Promise<unknown> | void;
  /**
   * Handles the notifies of `message` (one, or a run: `[Notify, method, args, args, ...]`) whose arguments
   * are at `from` to `to` (exclusive), in order: a run comes in one span, or in several when a time slice
   * ends inside it. Returns those that hold back their acknowledgement as `message` does, by position
   * (`holds[at - from]`), or nothing when none does. Each holds its share of the run's size, and the
   * per-message overhead.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a listener may return nothing at all
  notifies(message: NotifyMessage, from: number, to: number): readonly (Promise<unknown> | undefined)[] | void;
  /** Called once, with the error every unsettled operation on this channel should fail with. */
  close(error: Error): void;
}

export interface ChannelConfig extends ChannelOptions {
  /** The error for a close the transport reported (peer gone, protocol error). */
  closeError?: (cause: Error | undefined) => Error;
}

export class Channel {
  readonly stats = new ChannelStats();
  /**
   * How many times the peer has been heard from (a frame, or part of one): what heartbeats watch. A count,
   * not a time: with the MessagePort transport's, the clock reads per frame cost a call made one at a time
   * a few percent of its round trip (docs/benchmarks.md, "One call at a time against birpc").
   */
  heard = 0;
  readonly #transport: Transport;
  readonly #options: FilledChannelOptions;
  readonly #closeError: (cause: Error | undefined) => Error;
  readonly #encoder: Encoder;
  readonly #decoder = new Decoder();
  #listener: ChannelListener | undefined;

  /** Encoded messages waiting for the next flush, in order. */
  readonly #outbox: Outbox;
  /** Bytes left free in front of each frame for the transport's prefix (it has `sendWithHeadroom`), or 0. */
  readonly #headroomBytes: number;
  readonly #flushPolicy: FlushPolicy;
  /** What may still be sent: data cost unacked, calls unanswered, messages waiting for room. */
  readonly #window: SendWindow;
  /** Peer data bytes handled and not yet acked. */
  #toAck = 0;
  #transportFull = false;
  readonly #keepalive = new Keepalive();
  #closed: Error | undefined;
  #closing = false;
  /** A received frame is being handled: what it queues leaves when it is done (see #receive). */
  #receiving = false;
  /** The size of each message of the frame being handled, by index (see #ackWhenHandled). */
  readonly #sizes = new MessageSizes();
  /**
   * Frames not yet wholly delivered, in order: the first ran out of its time slice (DELIVERY_SLICE_MS),
   * and frames that arrived since wait behind it. Empty but for handlers that take that long.
   */
  #backlog: Delivery[] = [];
  #resumeScheduled = false;
  /** The transport ended while frames were still to be delivered: the channel fails once they are. */
  #endedWith: { cause: Error | undefined } | undefined;
  /** The peer is known to be dead: what it sent is still delivered, then everything fails with this. */
  #peerDeath: Error | undefined;
  /**
   * Messages handed to the transport since the channel opened. The outbox is FIFO and messages leave it
   * only by being sent (or with the channel's end), so the messages queued so far number #sentCount plus
   * those still in it, and the one queued as number n has left once n <= #sentCount (see `hasSent`).
   */
  #sentCount = 0;

  constructor(transport: Transport, config: ChannelConfig = {}) {
    this.#transport = transport;
    // A frame sent with headroom moves no buffers beside it: a transport that transfers does without.
    this.#headroomBytes = transport.sendWithHeadroom && !transport.transfers ? (transport.headroomBytes ?? 0) : 0;
    this.#outbox = new Outbox(this.#headroomBytes);
    // Small messages are written straight into the outbox (see TupleTarget).
    this.#encoder = new Encoder(this.#outbox);
    const options = fillChannelOptions(config);
    // A batch must fit in a frame the peer accepts, header included: batches cut at a maxBatchBytes above
    // maxFrameBytes were refused by the peer as too large, and the channel died of its own traffic.
    const maxBatchBytes = Math.max(1, Math.min(options.maxBatchBytes, options.maxFrameBytes - FRAME_HEADER_ROOM_BYTES));
    this.#options = { ...options, maxBatchBytes };
    this.#window = new SendWindow(this.#options);
    this.#flushPolicy = new FlushPolicy(this.#outbox, () => this.#flush(), this.#options);
    this.#closeError = config.closeError ?? ((cause) => cause ?? new ClusterClosedError('The channel is closed'));
  }

  get closed(): boolean {
    return this.#closed !== undefined;
  }

  get label(): string {
    return this.#transport.label;
  }

  /** The transport's kind: `port`, `tcp`, `memory`, … */
  get transportKind(): string {
    return this.#transport.kind;
  }

  /** Starts delivery. Call once, before or after the first send. */
  start(listener: ChannelListener): void {
    this.#listener = listener;
    this.#transport.start({
      frame: (data, transferred) => this.#receive(data, transferred),
      close: (cause) => this.#transportEnded(cause),
      drain: () => {
        this.#transportFull = false;
        this.#scheduleFlush();
      },
      progress: () => this.#progress(),
    });
  }

  /**
   * Queues a call or notify. Returns undefined when it is accepted now, or a promise that settles when
   * it is accepted (under backpressure). Throws SerializationError when the message cannot be encoded
   * (nothing is queued), and the close error when the channel is closed. The buffers in `transfer` are
   * detached from their owner once the message is accepted or waiting, never when it throws. `hasSent`
   * takes the promise to tell whether a message that had to wait has left.
   */
  send(message: Message, isCall: boolean, transfer?: readonly ArrayBuffer[]): Promise<void> | undefined {
    // The same four checks open sendSystem. Written out, not a shared method: moved into one, a notify
    // took ~1.2x as long to send (bench/send-cost.ts, both orders).
    if (isEncoding()) throw new SerializationError(REENTRANT_SEND);
    if (this.#closed) throw this.#closed;
    if (this.#peerDeath) throw this.#peerDeath;
    if (this.#closing) throw new ClusterClosedError('The channel is closing');
    if (!transfer) {
      if (this.#joinRun(message, isCall)) return undefined;
      if (this.#deferred(message, isCall)) return undefined;
    }
    // Only a message that transfers buffers takes the longer path (no allocation on the common one).
    const prepared = transfer && prepareTransfer(message, transfer, !this.#transport.transfers);
    // Encoded into the encoder's scratch: copied from there into the batch, or kept if it must wait.
    const size = prepared ? this.#encode(prepared.value) + prepared.bytes : this.#encode(message);
    if (this.#window.admits(size, isCall)) {
      this.#accept(undefined, size, isCall, prepared?.commit());
      if (!prepared) this.#openRun(message, isCall);
      return undefined;
    }
    if (this.#options.backpressure === 'reject') {
      throw new ChannelFullError(this.#window.bytes, this.#window.inFlight, this.#options);
    }
    this.stats.waits++;
    // A notify the tuple writer wrote may still join a run as it leaves the wait (see #acceptWaiter).
    const runMethod = !isCall && !prepared && this.#encoder.tookFastPath ? (message as NotifyMessage)[1] : undefined;
    return this.#window.wait(this.#encoder.keep(), size, isCall, prepared?.commit(), runMethod);
  }

  /**
   * Queues a call or notify as one more element of the call or notify to the same method queued just
   * before it, when it can join that one (see Outbox.openRun; a run grows no longer than a batch,
   * maxBatchBytes) and the window has room for it: it costs the
   * window the bytes it adds to the run and the per-message overhead (a message's, so the window still
   * bounds the handlers the peer holds), and takes its place in maxInFlight. The receiver takes a call run
   * apart (parseFrame) and hands a notify run over in spans (#deliver); either way the shares of the run's
   * size it gives its messages add up to what the window was charged. False: nothing was queued.
   */
  #joinRun(message: Message, isCall: boolean): boolean {
    const call = message as CallMessage;
    const notify = message as NotifyMessage;
    const size = isCall
      ? this.#outbox.writeRunArguments(call[2], call[1], call[3], this.#options.maxBatchBytes)
      : this.#outbox.writeRunArguments(notify[1], -1, notify[2], this.#options.maxBatchBytes);
    if (size < 0 || !this.#window.admits(size, isCall)) return false;
    this.#outbox.commitAppend(size, this.#window.charge(size));
    this.#queued();
    if (isCall) this.#window.inFlight++;
    return true;
  }

  /** A call or notify just queued may start a run (see Outbox.openRun). */
  #openRun(message: Message, isCall: boolean): void {
    const call = message as CallMessage;
    const notify = message as NotifyMessage;
    if (isCall) this.#outbox.openRun(call[1], call[2]);
    else this.#outbox.openRun(-1, notify[1]);
  }

  /**
   * Queues one of convoy's own calls or notifies (stats, wiring, peer exits) at once, ahead of user data
   * waiting for room: it is not a user message, so flow control does not hold it and per-pair FIFO does
   * not order it against user messages. A system call still counts as in flight.
   */
  sendSystem(message: Message, isCall: boolean): void {
    if (isEncoding()) throw new SerializationError(REENTRANT_SEND);
    if (this.#closed) throw this.#closed;
    if (this.#peerDeath) throw this.#peerDeath;
    if (this.#closing) throw new ClusterClosedError('The channel is closing');
    this.#queue(message);
    if (isCall) this.#window.inFlight++;
  }

  /** Queues a reply, fault, cancel or ping. Never waits. Throws SerializationError like `send`. */
  sendControl(message: Message, transfer?: readonly ArrayBuffer[]): void {
    if (isEncoding()) throw new SerializationError(REENTRANT_SEND);
    if (this.#closed) throw this.#closed;
    if (!transfer) {
      if (message[0] === Kind.Reply) {
        // The reply to the call after the one just answered joins that reply (see Outbox.appendReply).
        if (this.#outbox.appendReply(message[1], message[2], this.#options.maxBatchBytes)) this.#queued();
        else {
          this.#queue(message);
          this.#outbox.openRun(message[1]);
        }
        return;
      }
      this.#queue(message);
      return;
    }
    const prepared = prepareTransfer(message, transfer, !this.#transport.transfers);
    this.#encode(prepared.value);
    this.#enqueue(undefined, 0, prepared.commit());
  }

  /**
   * Encodes one message into the encoder's scratch and returns its length; one that could never fit in a
   * frame the peer accepts fails here, alone. A deferred message is encoded first: it goes ahead of this
   * one, and the scratch is free only now.
   */
  #encode(message: unknown): number {
    this.#encodeDeferred();
    const length = this.#encoder.encodeMessage(message);
    if (length + FRAME_HEADER_ROOM_BYTES > this.#options.maxFrameBytes) {
      throw new SerializationError(
        `Message of ${length} bytes does not fit in a frame of maxFrameBytes (${this.#options.maxFrameBytes}), which keeps ` +
          `${FRAME_HEADER_ROOM_BYTES} bytes for its header; raise maxFrameBytes on the cluster to send it`,
      );
    }
    return length;
  }

  /** Encodes and queues a message that does not count against the window (control, system, goodbye). */
  #queue(message: Message): void {
    if (this.#deferred(message, false, true)) return;
    this.#encode(message);
    this.#enqueue(undefined);
  }

  /**
   * Queues a plain message unencoded, when it finds the queue empty on a transport that carries values
   * (see the top of this file). `control`: it does not count against the window. False: take the
   * common path.
   */
  #deferred(message: Message, isCall: boolean, control = false): boolean {
    if (this.#outbox.length > 0 || this.#transport.sendValue === undefined) return false;
    const size = plainMessageBytes(message);
    // Past maxFrameBytes by its bound, a message takes the common path, which checks its real size.
    if (size < 0 || size + FRAME_HEADER_ROOM_BYTES > this.#options.maxFrameBytes) return false;
    if (!control && !this.#window.admits(size, isCall)) return false;
    // A copy: the message leaves at the flush, and must cross as it is now (see copyPlainMessage).
    this.#outbox.pushValue(copyPlainMessage(message), size, control ? 0 : this.#window.charge(size));
    // As #accept does: the call is counted once it is queued (and perhaps sent).
    this.#queued();
    if (isCall) this.#window.inFlight++;
    return true;
  }

  /** A deferred message is encoded before anything else joins it: before an encode, or a waiting message's bytes. */
  #encodeDeferred(): void {
    this.#outbox.encodeValue(this.#encoder);
  }

  /**
   * Whether the message whose wait for room is `wait` (the promise `send` returned) was handed to the
   * transport: one still waiting, or queued behind the last flush, when the channel failed never left.
   */
  hasSent(wait: Promise<void>): boolean {
    const seq = this.#window.placeOf(wait) ?? 0;
    return seq > 0 && seq <= this.#sentCount;
  }

  /**
   * Takes back a call still waiting for room (`wait`: the promise `send` returned), so that it is never
   * sent: its caller gave up on it (a timeout, an abort). False once it has left the wait. Messages
   * behind it may go now.
   */
  withdraw(wait: Promise<void>, error: Error): boolean {
    if (!this.#window.withdraw(wait, error)) return false;
    this.#pump();
    return true;
  }

  /** Sends what is queued now, whatever the flush policy would wait for (a word that must go first). */
  flushNow(): void {
    this.#flush();
  }

  /** Frees one call's place in `maxInFlight`: its reply or fault arrived. */
  callSettled(): void {
    this.#window.inFlight--;
    this.#pump();
  }

  /**
   * Flushes what is queued, then closes the transport. Later sends throw ClusterClosedError. With `exit`
   * these are the last words of a thread or process that is exiting: everything queued leaves now,
   * synchronously, because no later turn of the event loop will come, and the peer learns how it exited.
   */
  close(exit?: ExitNotice): void {
    if (this.#closed || this.#closing) return;
    this.#closing = true;
    this.#window.rejectAll(new ClusterClosedError('The channel closed before this message could be sent'));
    try {
      this.#queue(exit ? [Kind.Goodbye, exit] : [Kind.Goodbye]);
    } catch {
      // An unencodable goodbye must not stop the rest from leaving; without its error it still tells how.
      try {
        if (exit?.error) this.#queue([Kind.Goodbye, { exitCode: exit.exitCode, crashed: exit.crashed }]);
      } catch {}
    }
    // Past the transport's backpressure too: messages already accepted must not be dropped by a close.
    this.#flush(true);
    this.#transport.close();
  }

  /**
   * The peer is known to be dead (its exit was seen, or the coordinator said so). What it sent before it
   * died may still be on its way, and a reply in it must still resolve: so nothing more is sent, and what
   * is unsettled fails with `error` when the transport reports its close. That close comes once every
   * frame the transport received has been delivered, and it does come: the operating system closes a
   * dead thread's port and a dead process's sockets, and a transport that cannot see the death itself
   * is told (`peerGone`).
   */
  peerDied(error: Error): void {
    if (this.#closed || this.#peerDeath) return;
    this.#peerDeath = error;
    this.#window.rejectAll(error);
    this.#transport.peerGone?.();
  }

  /**
   * Closes at once: everything unsettled fails. A ProtocolError is a verdict on the connection, so it is
   * taken as the transport's own failure would be (calls fail with the close error built from it, e.g.
   * WorkerDiedError 'disconnected'); any other `error` is what they fail with. Idempotent.
   */
  destroy(error: Error): void {
    if (this.#closed) return;
    this.#fail(error instanceof ProtocolError ? this.#closeError(error) : error);
    this.#transport.destroy(error);
  }

  get queuedBytes(): number {
    return this.#outbox.bytes;
  }

  get windowBytes(): number {
    return this.#window.bytes;
  }

  get inFlight(): number {
    return this.#window.inFlight;
  }

  get waiting(): number {
    return this.#window.waiting;
  }

  /**
   * `bytes` are the message's (undefined: the encoder's last scratch encode); `size` is the encoded
   * bytes plus the bytes transferred beside them.
   */
  #accept(bytes: Uint8Array | undefined, size: number, isCall: boolean, transfer: ArrayBuffer[] | undefined): void {
    const cost = this.#window.charge(size);
    // Queued before this call is counted: only calls already out make the flush wait for the turn's end,
    // so a lone call leaves at once.
    this.#enqueue(bytes, cost, transfer);
    if (isCall) this.#window.inFlight++;
  }

  /**
   * Queues `bytes` (undefined: the encoder's last scratch encode, copied into the batch); `cost` is what a
   * data message counts against the window (0 for control messages).
   */
  #enqueue(bytes: Uint8Array | undefined, cost = 0, transfer?: ArrayBuffer[]): void {
    if (bytes) this.#outbox.push(bytes, cost, transfer);
    else this.#outbox.pushEncoded(this.#encoder, cost, transfer);
    this.#queued();
  }

  /** A message was queued: it leaves now, or when the flush policy says. */
  #queued(): void {
    const inFlight = this.#window.inFlight;
    if (!this.#receiving && !this.#transportFull && this.#flushPolicy.leavesAlone(inFlight)) {
      this.#flush();
      this.#flushPolicy.followLone();
      return;
    }
    if (this.#flushPolicy.leaveNow(inFlight)) this.#flush();
    // What handling a received frame queues is sent or scheduled once, when the frame is done.
    if (!this.#receiving) this.#scheduleFlush();
  }

  /** Moves waiting messages into the queue while they fit, in order. */
  #pump(): void {
    if (!this.#closed) this.#window.release(this.#acceptWaiter);
  }

  readonly #acceptWaiter = (waiter: Waiter): void => {
    this.#encodeDeferred();
    if (waiter.runMethod !== undefined) this.#acceptIntoRun(waiter, waiter.runMethod);
    else this.#accept(waiter.bytes, waiter.size, waiter.isCall, waiter.transfer);
    // It is the last message queued: its number is all those sent plus all still queued.
    waiter.seq = this.#sentCount + this.#outbox.length;
  };

  /**
   * A notify leaving the wait (written by the tuple writer) joins the open run of notifies to its method,
   * costing the window what a notify joining a run does (see #joinRun), or is queued in the arena, where
   * it starts a run. A sender that outruns its receiver fills the window and sends every later notify
   * through the wait: without this, none of them would cross in a run.
   */
  #acceptIntoRun(waiter: Waiter, method: string): void {
    const size = this.#outbox.joinRunBytes(method, waiter.bytes, this.#options.maxBatchBytes);
    if (size >= 0) this.#outbox.commitAppend(size, this.#window.charge(size));
    else {
      this.#outbox.pushTuple(waiter.bytes, this.#window.charge(waiter.size));
      this.#outbox.openRun(-1, method);
    }
    this.#queued();
  }

  #scheduleFlush(): void {
    if (!this.#transportFull) this.#flushPolicy.schedule(this.#window.inFlight);
  }

  /**
   * Sends the queue as frames of at most `maxBatchBytes` (a single larger message goes alone). `force`
   * ignores a full transport (it buffers what it is given), for the last flush before a close.
   */
  #flush(force = false): void {
    if (this.#closed || (this.#transportFull && !force)) return;
    if (this.#outbox.length === 0 && this.#toAck === 0) return;
    const lone = this.#outbox.loneValue;
    if (lone !== undefined) {
      this.#flushValue(lone);
      return;
    }
    do {
      const { frame, messages, joined, transfer } = this.#outbox.take(this.#toAck, this.#options.maxBatchBytes);
      this.#toAck = 0;
      this.#sentCount += messages;
      this.stats.recordSent(messages + joined, frame.byteLength - this.#headroomBytes, transfer);
      if (!this.#send(frame, transfer)) {
        this.#transportFull = true;
        if (!force) return;
      }
    } while (this.#outbox.length > 0);
    this.#flushPolicy.sent();
  }

  /** Sends the queue's one message, deferred and plain, as a value frame. */
  #flushValue(message: Message): void {
    const bytes = this.#outbox.bytes;
    const cost = this.#outbox.cost;
    const frame: ValueFrame = [this.#toAck, cost, bytes, message];
    this.#sentCount++;
    this.stats.recordSent(1, headerLength(this.#toAck, cost) + bytes);
    this.#outbox.clear();
    this.#toAck = 0;
    if (!this.#transport.sendValue!(frame)) this.#transportFull = true;
    this.#flushPolicy.sent();
  }

  /** Part of a frame arrived: the peer is alive, and when a keep-alive is due it hears that we are too. */
  #progress(): void {
    this.heard++;
    const now = clock.now();
    if (this.#closed || this.#transportFull || !this.#keepalive.due(now)) return;
    this.#sendSignOfLife();
  }

  /** What is queued, or else an empty frame: the peer hears that this side is alive. */
  #sendSignOfLife(): void {
    if (this.#outbox.length > 0 || this.#toAck > 0) {
      this.#flush();
      return;
    }
    const { frame } = this.#outbox.take(0, this.#options.maxBatchBytes);
    this.stats.recordSent(0, frame.byteLength - this.#headroomBytes);
    if (!this.#send(frame)) this.#transportFull = true;
  }

  /** Sends a frame taken from the outbox (behind its headroom, when the transport wants one). */
  #send(frame: Uint8Array, transfer?: ArrayBuffer[]): boolean {
    return this.#headroomBytes > 0 ? this.#transport.sendWithHeadroom!(frame) : this.#transport.send(frame, transfer);
  }

  #receive(data: ReceivedFrame, transferred: ArrayBuffer[] | undefined): void {
    const length = frameLength(data);
    this.heard++;
    this.#flushPolicy.frameArrived();
    this.#keepalive.frameDone();
    if (length > this.#options.maxFrameBytes) {
      this.#refuse(new ProtocolError(`Frame of ${length} bytes exceeds maxFrameBytes (${this.#options.maxFrameBytes})`));
      return;
    }
    let frame: ParsedFrame;
    try {
      frame = parseFrame(this.#decoder, data, transferred, this.#sizes);
    } catch (error) {
      this.#refuse(error instanceof ProtocolError ? error : new ProtocolError('Unreadable frame', { cause: toError(error) }));
      return;
    }
    const { acked, dataCost, messages, count } = frame;
    this.stats.recordReceived(count, length, transferred);
    const delivery: Delivery = { messages, sizes: this.#sizes, next: 0, nextAt: 0, dataCost, held: 0 };
    let done = true;
    this.#receiving = true;
    try {
      if (acked > 0) {
        this.#window.credit(acked);
        this.#pump();
      }
      // Behind a frame still being delivered, this one waits its turn (order), with its own sizes.
      if (this.#backlog.length > 0) this.#defer(delivery);
      else done = this.#deliver(delivery, mayBeCut(messages) ? clock.now() : 0);
    } finally {
      this.#receiving = false;
    }
    this.#delivered(done);
  }

  /**
   * Hands `d`'s messages to the listener from `d.next` on. True once all are, false when the time slice
   * begun at `started` ran out first: then `d` is first in the backlog, to go on in a later turn.
   */
  #deliver(d: Delivery, started: number): boolean {
    const listener = this.#listener!;
    const { messages, sizes } = d;
    // The clock is read after the first message, then at strides doubling up to 64 (each notify of a run
    // counts): slow handlers are caught after one or a few of them (a stride of 64 let 64 handlers of 60 ms
    // run in one go), and a fast frame of thousands pays a read per 64.
    let stride = 1;
    let budget = 1;
    let i = d.next;
    let at = d.nextAt;
    while (i < messages.length) {
      if (this.#closed) return true;
      const message = messages[i]!;
      if (message[0] === Kind.Notify) {
        const from = at === 0 ? 2 : at;
        const to = Math.min(message.length, from + budget);
        const holds = listener.notifies(message, from, to);
        if (holds) d.held += this.#holdNotifies(holds, message, from, sizes.get(i), d.dataCost - d.held);
        budget -= to - from;
        at = to;
        if (to === message.length) {
          i++;
          at = 0;
        }
      } else {
        const hold = listener.message(message);
        if (hold) d.held += this.#ackWhenHandled(hold, sizes.get(i) + MESSAGE_OVERHEAD_BYTES, d.dataCost - d.held);
        budget--;
        i++;
      }
      if (budget > 0) continue;
      stride = stride < 64 ? stride * 2 : 64;
      budget = stride;
      if (i < messages.length && !this.#closed && clock.now() - started > DELIVERY_SLICE_MS) {
        d.next = i;
        d.nextAt = at;
        if (this.#backlog[0] !== d) this.#defer(d, true);
        return false;
      }
    }
    if (d.dataCost > d.held) this.#ack(d.dataCost - d.held);
    return true;
  }

  /**
   * The notifies of `run` from `from` on that hold their acknowledgement (`holds`, by position) each hold
   * their share of the run's `size` (runShare, as parseFrame shares a call run's out). Returns what they
   * hold, at most `left` in all.
   */
  #holdNotifies(holds: readonly (Promise<unknown> | undefined)[], run: NotifyMessage, from: number, size: number, left: number): number {
    const count = run.length - 2;
    let held = 0;
    for (let k = 0; k < holds.length; k++) {
      const hold = holds[k];
      if (!hold) continue;
      const cost = runShare(size, count, from + k - 2) + MESSAGE_OVERHEAD_BYTES;
      held += this.#ackWhenHandled(hold, cost, left - held);
    }
    return held;
  }

  /** Puts `d` in the backlog (first: it was being delivered), and makes sure a later turn goes on with it. */
  #defer(d: Delivery, first = false): void {
    if (d.sizes === this.#sizes) d.sizes = this.#sizes.snapshot(d.messages.length);
    if (first) this.#backlog.unshift(d);
    else this.#backlog.push(d);
    this.#scheduleResume();
  }

  #scheduleResume(): void {
    if (this.#resumeScheduled) return;
    this.#resumeScheduled = true;
    setImmediate(() => this.#resume());
  }

  /** A turn for the backlog: frames delivered in order, for one time slice. */
  #resume(): void {
    this.#resumeScheduled = false;
    if (this.#closed) return;
    const started = clock.now();
    let done = true;
    this.#receiving = true;
    try {
      while (this.#backlog.length > 0 && !this.#closed) {
        if (!this.#deliver(this.#backlog[0]!, started)) {
          done = false;
          break;
        }
        this.#backlog.shift();
        if (this.#backlog.length > 0 && clock.now() - started > DELIVERY_SLICE_MS) {
          done = false;
          break;
        }
      }
    } finally {
      this.#receiving = false;
    }
    if (!done && !this.#closed) this.#scheduleResume();
    this.#delivered(done);
    if (done && this.#endedWith && !this.#closed) this.#fail(this.#peerDeath ?? this.#closeError(this.#endedWith.cause));
  }

  /**
   * What handling queued (replies, acks) leaves with no further wait: nothing else can join it before the
   * next frame arrives. With calls of our own in flight the batch still waits for the end of the turn, so
   * the replies to several frames travel together. A delivery cut short by its time slice sends at least
   * an empty frame: the sender, whose pings wait behind the rest, hears that this side is alive.
   */
  #delivered(done: boolean): void {
    if (this.#closed || this.#endedWith) return;
    if (!done) {
      if (!this.#transportFull) this.#sendSignOfLife();
      return;
    }
    const queued = this.#outbox.length + this.#toAck;
    if (queued === 0) return;
    if (this.#flushPolicy.afterFrame(queued, this.#window.inFlight)) this.#flush();
    else this.#scheduleFlush();
  }

  /**
   * A frame that breaks the protocol ends the channel with `error`. Frames before it that are still being
   * delivered are delivered first, as they would have been had it come a little later: the transport
   * stops now, and the channel fails once the backlog is through (as for any end of the transport).
   */
  #refuse(error: ProtocolError): void {
    if (this.#backlog.length === 0) {
      this.destroy(error);
      return;
    }
    this.#transportEnded(error);
    this.#transport.destroy(error);
  }

  /**
   * The transport ended and the channel is still delivering what it brought: it closes once that is
   * done. Whoever waits for its close to learn a peer's last words should wait this out.
   */
  get draining(): boolean {
    return this.#endedWith !== undefined && !this.#closed;
  }

  /** The transport ended: the channel fails now, or once the frames it brought have all been delivered. */
  #transportEnded(cause: Error | undefined): void {
    if (this.#backlog.length > 0 && !this.#closed) {
      // Nothing can leave any more; what the peer sent before its end still reaches the listener first.
      // The first end reported is the one (a refused frame's error, before the close it causes).
      this.#endedWith ??= { cause };
      this.#transportFull = true;
      return;
    }
    this.#fail(this.#peerDeath ?? this.#closeError(cause));
  }

  /**
   * A message whose handler holds it (an async or serially queued notify, a pool task) is acknowledged
   * once it is done; the rest of its frame at once. Before, the whole frame waited for its slowest handler:
   * a notify that started a long job held the cost of every message batched with it, up to the whole
   * window. `cost` is the message's size as its sender counted it (encoded, plus the buffers it
   * transferred; for a notify of a run, its share of the run's) and the per-message overhead. At most
   * `left` of the frame's cost is held (a sender's costs are never below that; a frame that claims less
   * cannot make the ack negative).
   * Returns what is held. Its own method: V8 makes a function's closure context as it enters it, and
   * #receive runs for every frame.
   */
  #ackWhenHandled(hold: Promise<unknown>, cost: number, left: number): number {
    const held = Math.min(cost, left);
    if (held <= 0) return 0;
    this.stats.heldBytes += held;
    const release = (): void => {
      this.stats.heldBytes -= held;
      this.#ack(held);
    };
    hold.then(release, release);
    return held;
  }

  #ack(dataBytes: number): void {
    if (this.#closed) return;
    this.#toAck += dataBytes;
    if (!this.#receiving) this.#scheduleFlush();
  }

  #fail(error: Error): void {
    if (this.#closed) return;
    this.#closed = error;
    this.#backlog = [];
    this.#outbox.clear();
    this.#window.rejectAll(error);
    this.#listener?.close(error);
  }
}
