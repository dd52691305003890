/**
 * A transport for one pair of endpoints over a NATS connection that many transports share (NatsHub).
 *
 * NATS keeps each publisher's messages in order but drops what nobody is subscribed to, and may lose
 * messages with a server. So: each side announces itself (`open`, sent again until answered) and sends
 * frames only once the other side has announced itself, that is, once it is surely subscribed; every
 * frame is numbered, and a gap or a repeat breaks the transport with ProtocolError instead of handing
 * the channel a hole. A frame larger than the server's `max_payload` goes as numbered pieces, published
 * only while the connection has room (the channel above then waits for `drain`), and is reassembled
 * whole. A graceful close is a numbered `close` after the last frame, answered by the other side's own;
 * `destroy` tells the other side with a `reset`.
 */
import { ProtocolError } from '../errors.js';
import type { NatsHub } from './nats-hub.js';
import { PieceAssembler } from './nats-pieces.js';
import { MAX_HEADER_BYTES, TAG_BYTES, WireKind, type WireMessage, encodeReset, encodeWire, nextSeq, resetReason } from './nats-wire.js';
import { CloseOnce, type Transport, type TransportHandlers } from './transport.js';

export interface NatsTransportOptions {
  /** A received frame larger than this breaks the transport with ProtocolError. */
  maxFrameBytes: number;
  /** How long to wait for the other side to bind its transport; 0: until the transport is ended otherwise. @default 10000 */
  openTimeoutMs?: number;
  /** After a graceful close, how long to wait for the other side's. @default 5000 */
  closeTimeoutMs?: number;
}

export interface NatsTransportConfig extends NatsTransportOptions {
  local: string;
  remote: string;
  /** This side's stream id. */
  stream: number;
  /** Where this side publishes. */
  subject: string;
}

const DEFAULT_OPEN_TIMEOUT_MS = 10_000;
const DEFAULT_CLOSE_TIMEOUT_MS = 5000;
/**
 * How long a peer known to be gone may still deliver its last frames and its close. They travel on its
 * own connection, the word of its death on its agent's: through one server the word comes after them,
 * but through a cluster of servers it may come first, by up to the time a message takes on a route.
 */
const PEER_GONE_GRACE_MS = 250;
/** The first wait before an unanswered open is sent again; it doubles up to the cap. */
const OPEN_RETRY_FIRST_MS = 20;
const OPEN_RETRY_MAX_MS = 500;

/** Marks the end of the send queue once `close()` was called. */
const CLOSE = new Uint8Array(0);

export class NatsTransport implements Transport {
  readonly kind = 'nats';
  readonly label: string;
  /** Nothing moves between hosts: the channel encodes transferred buffers inline. */
  readonly transfers = false;
  readonly subject: string;
  readonly stream: number;
  readonly #hub: NatsHub;
  readonly #config: NatsTransportConfig;
  readonly #closeOnce = new CloseOnce();
  readonly #open = deferredOpen();
  #handlers: TransportHandlers | undefined;
  /** Frames that arrived before `start`. */
  #early: Uint8Array[] = [];

  /** The other side's stream, once it announced itself (0 until then). */
  #peerStream = 0;
  #sendSeq = 0;
  #receiveSeq = 0;
  /** Frames (and at the end, perhaps CLOSE) not yet published; the head may be partly published. */
  #queue: Uint8Array[] = [];
  #sentOfHead = 0;
  /** `send` returned false: a `drain` is owed. */
  #owesDrain = false;
  #closing = false;
  #closeSent = false;
  #peerClosed = false;
  /** Set once the other side is known gone: ends the transport if its close does not come first. */
  #goneTimer: NodeJS.Timeout | undefined;
  readonly #pieces: PieceAssembler;
  #timer: NodeJS.Timeout | undefined;
  #retryMs = OPEN_RETRY_FIRST_MS;
  #openDeadline = 0;

  constructor(hub: NatsHub, config: NatsTransportConfig) {
    this.#hub = hub;
    this.#config = config;
    this.subject = config.subject;
    this.stream = config.stream;
    this.label = `nats ${config.local}→${config.remote}`;
    this.#pieces = new PieceAssembler(config.maxFrameBytes);
  }

  get closed(): boolean {
    return this.#closeOnce.done;
  }

  /** Numbered messages received again (a copy of one already taken), and dropped. */
  repeats = 0;

  /** Numbered messages so far, each way (frames, pieces, close): for stats, and for tests that forge one. */
  get numbered(): { sent: number; received: number } {
    return { sent: this.#sendSeq, received: this.#receiveSeq };
  }

  /** Settles once the other side has bound its transport (true), or this one ended first (false). */
  get opened(): Promise<boolean> {
    return this.#open.promise;
  }

  /** Says "bound" to the other side, and again until it answers. Called by the hub once routed. */
  announce(): void {
    const timeoutMs = this.#config.openTimeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS;
    this.#openDeadline = timeoutMs > 0 ? performance.now() + timeoutMs : Number.POSITIVE_INFINITY;
    this.#sendOpen();
  }

  send(frame: Uint8Array): boolean {
    if (this.closed || this.#closing) return false;
    this.#queue.push(frame);
    this.pump();
    if (this.#queue.length === 0) return true;
    this.#owesDrain = true;
    return false;
  }

  start(handlers: TransportHandlers): void {
    this.#handlers = handlers;
    const early = this.#early;
    this.#early = [];
    for (const frame of early) {
      if (this.#closeOnce.done) break;
      handlers.frame(frame);
    }
    this.#closeOnce.attach(handlers);
  }

  close(): void {
    if (this.closed || this.#closing) return;
    this.#closing = true;
    this.#queue.push(CLOSE);
    this.pump();
  }

  destroy(error?: Error): void {
    if (this.closed) return;
    this.#end(error);
    if (!this.#hub.connection.isClosed()) this.#hub.publish(this.subject, encodeReset(this.stream, error?.message ?? 'destroyed'));
  }

  /**
   * The other side is gone. The word of it came another way (its agent, then the coordinator) and may
   * overtake its last frames: they, and its close, are still taken for `PEER_GONE_GRACE_MS`. Its close
   * ends the transport as usual, after every frame before it; without one (it was killed) the transport
   * ends when the grace is over, telling the other side, in case it still runs, that its stream is over.
   */
  peerGone(): void {
    if (this.closed || this.#goneTimer) return;
    this.#goneTimer = setTimeout(() => this.destroy(), PEER_GONE_GRACE_MS).unref();
  }

  /** The connection was lost: ends without a word to the other side. Returns false if already ended. */
  lose(error: Error): boolean {
    if (this.closed) return false;
    this.#end(error);
    return true;
  }

  /** Publishes what is queued while the connection has room; called again by the hub when it has. */
  pump(): void {
    if (this.closed || this.#peerStream === 0) return;
    const queue = this.#queue;
    while (queue.length > 0) {
      if (!this.#hub.hasRoom()) {
        this.#hub.waitForRoom(this);
        return;
      }
      const head = queue[0]!;
      this.#sendSeq = nextSeq(this.#sendSeq);
      if (head === CLOSE) {
        queue.shift();
        this.#hub.publish(this.subject, encodeWire(WireKind.Close, this.stream, this.#sendSeq));
        this.#closeSent = true;
        this.#armCloseTimeout();
        break;
      }
      const room = this.#hub.maxPayloadBytes - MAX_HEADER_BYTES - TAG_BYTES;
      const start = this.#sentOfHead;
      if (start === 0 && head.byteLength <= room) {
        queue.shift();
        this.#hub.publish(this.subject, encodeWire(WireKind.Frame, this.stream, this.#sendSeq, head));
        continue;
      }
      const end = Math.min(start + room, head.byteLength);
      const kind = start === 0 ? WireKind.First : WireKind.More;
      this.#hub.publish(this.subject, encodeWire(kind, this.stream, this.#sendSeq, head, start, end, head.byteLength));
      if (end < head.byteLength) this.#sentOfHead = end;
      else {
        queue.shift();
        this.#sentOfHead = 0;
      }
    }
    if (this.#closeSent && this.#peerClosed) this.#end();
    else if (this.#owesDrain && queue.length === 0) {
      this.#owesDrain = false;
      this.#handlers?.drain();
    }
  }

  /** One message of this pair, from the hub, in the order the other side published it. */
  receive(message: WireMessage): void {
    if (this.closed) return;
    switch (message.kind) {
      case WireKind.Open:
      case WireKind.OpenAck:
        this.#opened(message);
        return;
      case WireKind.Reset:
        if (message.stream === this.#peerStream) {
          const reason = resetReason(message);
          this.#end(new ProtocolError(`NATS transport reset by "${this.#config.remote}"${reason ? `: ${reason}` : ''}`));
        }
        return;
    }
    // Numbered: from an earlier stream of this pair it is stale; from this one it must be the next. One
    // already taken is dropped: signed, it is a copy of what was taken (replayed by someone on the server,
    // or duplicated by NATS), and breaking the pair for it would let anyone who can copy a message do so.
    if (message.stream !== this.#peerStream) return;
    const expected = nextSeq(this.#receiveSeq);
    if (message.seq !== expected) {
      // Behind the expected number, in u32 arithmetic (the numbering wraps).
      if ((expected - message.seq) >>> 0 < 0x8000_0000) {
        this.repeats++;
        return;
      }
      this.destroy(new ProtocolError(`NATS transport from "${this.#config.remote}": a gap (message ${message.seq}, expected ${expected})`));
      return;
    }
    this.#receiveSeq = expected;
    try {
      this.#numbered(message);
    } catch (error) {
      this.destroy(error as ProtocolError);
    }
  }

  #numbered(message: WireMessage): void {
    if (message.kind !== WireKind.Close) {
      const frame = this.#pieces.take(message);
      if (frame) this.#deliver(frame);
      else this.#handlers?.progress?.();
      return;
    }
    if (this.#pieces.partial) throw new ProtocolError('NATS transport: closed inside a frame');
    this.#peerClosed = true;
    if (!this.#closing) this.close();
    else this.pump();
  }

  #deliver(frame: Uint8Array): void {
    if (this.#handlers) this.#handlers.frame(frame);
    else this.#early.push(frame);
  }

  #opened(message: WireMessage): void {
    if (this.#peerStream !== 0 && message.stream !== this.#peerStream) {
      this.destroy(new ProtocolError(`NATS transport: "${this.#config.remote}" opened a new stream over this one`));
      return;
    }
    // The answer goes first: the other side takes frames only from a stream it has heard announced.
    if (message.kind === WireKind.Open) this.#hub.publish(this.subject, encodeWire(WireKind.OpenAck, this.stream));
    if (this.#peerStream !== 0) return;
    this.#peerStream = message.stream;
    this.#open.resolve(true);
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.pump();
  }

  #sendOpen = (): void => {
    if (this.closed || this.#peerStream !== 0) return;
    if (performance.now() > this.#openDeadline) {
      this.destroy(
        new ProtocolError(
          `NATS transport: "${this.#config.remote}" did not bind its side within ${this.#config.openTimeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS} ms`,
        ),
      );
      return;
    }
    this.#hub.publish(this.subject, encodeWire(WireKind.Open, this.stream));
    this.#timer = setTimeout(this.#sendOpen, this.#retryMs).unref();
    this.#retryMs = Math.min(this.#retryMs * 2, OPEN_RETRY_MAX_MS);
  };

  #armCloseTimeout(): void {
    clearTimeout(this.#timer);
    // What this side sent was handed to NATS; a peer that never answers cannot take more of it.
    this.#timer = setTimeout(() => this.#end(), this.#config.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS).unref();
  }

  #end(error?: Error): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    clearTimeout(this.#goneTimer);
    this.#queue = [];
    this.#pieces.clear();
    this.#closeOnce.report(error);
    this.#open.resolve(false);
    this.#hub.release(this, this.#config.local, this.#config.remote);
  }
}

function deferredOpen(): { promise: Promise<boolean>; resolve(opened: boolean): void } {
  let resolve!: (opened: boolean) => void;
  const promise = new Promise<boolean>((done) => (resolve = done));
  return { promise, resolve };
}
