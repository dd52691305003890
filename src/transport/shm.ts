/**
 * A transport between two threads over shared memory: each direction is a ring of records in a
 * SharedArrayBuffer (shm-ring.ts), and the pair's MessagePort stays beside the rings for what they
 * cannot do:
 *
 * - frames that carry transferred buffers, or are too large for the ring, travel on the port. Every frame
 *   has a sequence number, on either path; the reader delivers them strictly in that order, so a ring
 *   record never overtakes the port frame sent before it, nor the other way round;
 * - a reader with nothing to read sleeps: it raises its ring's flag, and the writer that finds it raised
 *   posts one wake on the port. A reader that is awake — draining, or spinning for `spinMicros` — is
 *   never woken: the writer only stores into memory;
 * - a writer whose ring is full keeps the frames and `send` returns false (backpressure, no busy wait);
 *   the reader posts one notice on the port when it frees space, and `drain` follows;
 * - the port's `close` still reports the end of the other thread, within milliseconds. Records the other
 *   side published before it ended are delivered first, as a port delivers the messages posted before;
 * - without a spin budget, value frames (a lone plain message, see Transport.sendValue) go on the port too:
 *   a reader with nothing to read is asleep then and would be woken through the port anyway, and a value
 *   costs less there than its bytes. With a spin budget everything small takes the ring, which a spinning
 *   reader sees at once.
 */
import type { MessagePort } from 'node:worker_threads';
import { ProtocolError } from '../errors.js';
import type { ShmEnd } from '../protocol/control.js';
import { PortTransport, closeUnlessClosed } from './port.js';
import { RingReader, RingWriter, createRingBuffer } from './shm-ring.js';
import { SpinBudget, spinUntil, stopSpinning, type SpinningReader } from './shm-spinner.js';
import { CloseOnce, isValueFrame, type Transport, type TransportHandlers, type ValueFrame } from './transport.js';

/**
 * The transport of a channel between two threads (or a thread and the coordinator): over shared-memory
 * rings when `shm` is given, else the MessagePort alone.
 */
export function createThreadTransport(port: MessagePort, shm: ShmEnd | undefined): Transport {
  return shm ? new ShmTransport(port, shm) : new PortTransport(port);
}

/** Two rings, and each side's view of them. */
export function createShmPair(ringBytes: number, spinMicros: number): [ShmEnd, ShmEnd] {
  const ab = createRingBuffer(ringBytes);
  const ba = createRingBuffer(ringBytes);
  return [
    { send: ab, receive: ba, spinMicros },
    { send: ba, receive: ab, spinMicros },
  ];
}

/**
 * Bytes of frames delivered before the reader lets the event loop turn. A port runs the microtasks a
 * frame's handlers queue before it delivers the next frame, so their replies leave while the peer is
 * still sending; a reader that took every waiting frame in one go would hold all replies back until the
 * end, and the two threads would take turns instead of working at once. A turn also gives the thread's
 * other channels and timers their share.
 */
const PASS_BYTES = 4096;

/** Port messages besides frames. */
const WAKE_READER = 0;
const ROOM_FREED = 1;

/** A frame of bytes on the port: its sequence number, the bytes, and any buffers transferred beside them. */
type PortFrame = [seq: number, frame: Uint8Array] | [seq: number, frame: Uint8Array, transfer: ArrayBuffer[]];

/**
 * A value frame on the port, its sequence number appended: one array fewer for structured clone to write
 * and read than `[seq, frame]`, on the path of every lone call and its reply.
 */
type SeqValueFrame = [...frame: ValueFrame, seq: number];

interface Held {
  frame: Uint8Array | ValueFrame;
  transfer: ArrayBuffer[] | undefined;
}

export class ShmTransport implements Transport, SpinningReader {
  readonly kind = 'shm';
  readonly label = 'shm';
  readonly transfers = true;
  readonly #port: MessagePort;
  readonly #writer: RingWriter;
  readonly #reader: RingReader;
  readonly #spins: SpinBudget;
  /** Frames larger than this go on the port: copying them through the ring twice costs more than a transfer. */
  readonly #maxRingFrameBytes: number;
  readonly #closeOnce = new CloseOnce();
  #handlers: TransportHandlers | undefined;
  #pendingError: Error | undefined;

  /** Sequence number of the next frame sent, and of the next frame to deliver. */
  #sendSeq = 0;
  #receiveSeq = 0;
  /** Frames held back while the ring is full, in order; whatever comes after them waits behind them. */
  #held: Held[] = [];
  /** Port frames that arrived ahead of their turn (ring records sent before them are still unread). */
  #early: (PortFrame | SeqValueFrame)[] = [];
  #asleep = false;
  #draining = false;
  #peerClosed = false;
  #closing = false;
  #goneTimer: NodeJS.Timeout | undefined;
  /** Defined only without a spin budget (see the top of this file). */
  readonly sendValue?: (frame: ValueFrame) => boolean;

  constructor(port: MessagePort, end: ShmEnd) {
    this.#port = port;
    this.#writer = new RingWriter(end.send);
    this.#reader = new RingReader(end.receive);
    this.#spins = new SpinBudget(end.spinMicros);
    this.#maxRingFrameBytes = Math.min(this.#writer.maxRecordBytes, this.#writer.capacity / 4);
    if (end.spinMicros === 0) this.sendValue = (frame) => this.#sendValue(frame);
  }

  get closed(): boolean {
    return this.#closeOnce.done;
  }

  send(frame: Uint8Array, transfer?: ArrayBuffer[]): boolean {
    if (this.closed || this.#closing) return false;
    if (this.#held.length > 0) {
      this.#held.push({ frame, transfer });
      return false;
    }
    if (!this.#emit(frame, transfer)) {
      this.#held.push({ frame, transfer });
      if (!this.#awaitRoom()) return false;
    }
    // A side that sent expects an answer: its reader polls for it instead of sleeping (a reader that is
    // draining decides when it is done).
    if (!this.#draining) this.#spin();
    return true;
  }

  #sendValue(frame: ValueFrame): boolean {
    if (this.closed || this.#closing) return false;
    if (this.#held.length > 0) {
      this.#held.push({ frame, transfer: undefined });
      return false;
    }
    this.#post(frame, undefined);
    return true;
  }

  start(handlers: TransportHandlers): void {
    this.#closeOnce.attach(handlers);
    this.#handlers = handlers;
    this.#port.on('message', this.#onMessage);
    this.#port.on('messageerror', (error: Error) => this.destroy(new ProtocolError('Undeserializable port message', { cause: error })));
    this.#port.on('close', () => this.#onPortClose());
    // A port that receives messages keeps its thread alive; the rings alone never do.
    this.#port.start();
    this.#drain();
  }

  close(): void {
    if (this.closed || this.#closing) return;
    this.#closing = true;
    // Frames still held for room go on the port, in their turn: close hands over everything sent so far,
    // at once (the last words of an exiting thread have no later turn to wait for room in).
    for (const { frame, transfer } of this.#held) this.#post(frame, transfer);
    this.#held = [];
    this.#port.close();
  }

  /** As PortTransport's: a port handed to a thread already terminated never closes by itself. */
  peerGone(): void {
    if (!this.closed) this.#goneTimer ??= closeUnlessClosed(this.#port, () => this.closed);
  }

  destroy(error?: Error): void {
    if (this.closed) return;
    this.#pendingError = error;
    this.#held = [];
    stopSpinning(this);
    this.#port.close();
    // Report now: a destroyed transport must fail its calls at once, not when the port event comes.
    this.#closeOnce.report(error);
  }

  // --- writing --------------------------------------------------------------------------------------

  /** Sends one frame on its path; false when it belongs in the ring and the ring has no room. */
  #emit(frame: Uint8Array | ValueFrame, transfer: ArrayBuffer[] | undefined): boolean {
    if (transfer || isValueFrame(frame) || frame.byteLength > this.#maxRingFrameBytes) {
      this.#post(frame, transfer);
      return true;
    }
    if (!this.#writer.tryWrite(frame, this.#sendSeq)) return false;
    this.#sendSeq = (this.#sendSeq + 1) >>> 0;
    if (this.#writer.takeReaderAsleep()) this.#port.postMessage(WAKE_READER);
    return true;
  }

  #post(frame: Uint8Array | ValueFrame, transfer: ArrayBuffer[] | undefined): void {
    const seq = this.#sendSeq;
    this.#sendSeq = (seq + 1) >>> 0;
    // The port message wakes a sleeping reader by itself; a separate wake would be one message more. A reader
    // without a spin budget stays asleep through a port frame, its flag raised (see #deliverAtOnce).
    if (this.#spins.enabled) this.#writer.takeReaderAsleep();
    if (isValueFrame(frame)) {
      this.#port.postMessage([frame[0], frame[1], frame[2], frame[3], seq] satisfies SeqValueFrame);
      return;
    }
    // Transfer only when the frame owns its whole buffer; otherwise the structured clone copies it.
    const owns = frame.byteOffset === 0 && frame.byteLength === frame.buffer.byteLength && frame.buffer instanceof ArrayBuffer;
    const list: ArrayBuffer[] = owns ? [frame.buffer as ArrayBuffer] : [];
    if (transfer) {
      list.push(...transfer);
      this.#port.postMessage([seq, frame, transfer] satisfies PortFrame, list);
    } else {
      this.#port.postMessage([seq, frame] satisfies PortFrame, list);
    }
  }

  /** Sends held frames while they fit. Returns true when none is left. */
  #sendHeld(): boolean {
    let sent = 0;
    while (sent < this.#held.length) {
      const { frame, transfer } = this.#held[sent]!;
      if (!this.#emit(frame, transfer)) break;
      sent++;
    }
    this.#held = sent === this.#held.length ? [] : this.#held.slice(sent);
    return this.#held.length === 0;
  }

  /**
   * Asks the reader for word when it frees space, after a frame did not fit. Returns true if every held
   * frame went out meanwhile.
   */
  #awaitRoom(): boolean {
    // The first held frame is bytes for the ring: a value frame at the head would have been posted.
    while (this.#writer.awaitRoom((this.#held[0]!.frame as Uint8Array).byteLength)) {
      if (this.#sendHeld()) return true;
    }
    return false;
  }

  #onRoomFreed(): void {
    if (this.#held.length === 0 || this.closed) return;
    if (this.#sendHeld() || this.#awaitRoom()) this.#handlers?.drain();
  }

  // --- reading --------------------------------------------------------------------------------------

  readonly #onMessage = (data: unknown): void => {
    if (this.closed) return;
    if (data === WAKE_READER) {
      if (this.#asleep) this.#drain();
    } else if (data === ROOM_FREED) {
      this.#onRoomFreed();
    } else if (isShmPortFrame(data)) {
      if (this.#early.length === 0 && seqOf(data) === this.#receiveSeq && !this.#draining && this.#handlers) {
        this.#deliverAtOnce(data);
      } else {
        this.#early.push(data);
        this.#drain();
      }
    } else {
      this.destroy(new ProtocolError(`Unexpected message on a shared-memory transport's port: ${typeof data}`));
    }
  };

  /**
   * Delivers frames in sequence order, from the ring and the port, until neither has the next one; then
   * spins or sleeps. Yields to the event loop after PASS_BYTES (`sliced`: all but the last drain at close).
   */
  #drain(sliced = true): void {
    if (this.#draining || !this.#handlers) return;
    this.#draining = true;
    this.#asleep = false;
    this.#reader.awake();
    let passBytes = 0;
    let taken = false;
    let gap = false;
    try {
      for (;;) {
        // Closed (by the listener, or before a continuation ran): not one frame more.
        while (!this.closed) {
          const bytes = this.#deliverNext();
          if (bytes < 0) break;
          taken = true;
          passBytes += bytes;
          // A writer held back by a full ring hears of room once half of it is free: it fills that half
          // while this side reads the other, and one notice serves many frames. (It looks for room itself
          // after raising its flag, so a notice it misses was for room it already saw.)
          if (this.#reader.takeWriterWaits(this.#reader.capacity / 2)) this.#port.postMessage(ROOM_FREED);
          if (sliced && passBytes >= PASS_BYTES && this.#reader.ready) {
            setImmediate(() => this.#drain());
            return;
          }
        }
        if (this.closed) return;
        // Stopped: the ring is empty, or its next record comes after a frame still on its way on the port
        // (or one was published just now, after the last look).
        const next = this.#reader.peek();
        if (next === undefined) break;
        if (next.seq !== this.#receiveSeq) {
          gap = true;
          break;
        }
      }
    } catch (error) {
      // A corrupt ring ends this transport; anything else thrown is the listener's own and goes on up.
      if (!(error instanceof ProtocolError) || this.closed) throw error;
      this.destroy(error);
      return;
    } finally {
      this.#draining = false;
    }
    // A gap needs neither a spin nor a sleep: the port frame's message resumes delivery.
    if (gap || this.#peerClosed) return;
    // Data came, so more may follow soon: poll before sleeping.
    if (!taken || !this.#spin()) this.#sleep();
  }

  /** Delivers the next frame in sequence, from the port or the ring: its size, or -1 when it is not here yet. */
  #deliverNext(): number {
    const early = this.#early[0];
    if (early !== undefined && seqOf(early) === this.#receiveSeq) {
      this.#early.shift();
      return this.#handOver(early);
    }
    const header = this.#reader.peek();
    if (header === undefined || header.seq !== this.#receiveSeq) return -1;
    // Handed over in place: a transport's frame is read only during the call, so the record's space is
    // freed after it (also when the listener throws: the frame was delivered).
    const frame = this.#reader.read();
    this.#receiveSeq = (this.#receiveSeq + 1) >>> 0;
    try {
      this.#handlers!.frame(frame);
    } finally {
      this.#reader.release();
    }
    return frame.byteLength;
  }

  /** Delivers a frame that came on the port in its turn: its size (0 for a value frame). */
  #handOver(entry: PortFrame | SeqValueFrame): number {
    this.#receiveSeq = (this.#receiveSeq + 1) >>> 0;
    if (entry.length === SEQ_VALUE_FRAME_LENGTH) {
      // The value frame is the array itself, once its sequence number is off.
      entry.pop();
      this.#handlers!.frame(entry as unknown as ValueFrame);
      return 0;
    }
    const frame = entry[1];
    this.#handlers!.frame(frame, entry[2]);
    return frame.byteLength;
  }

  /**
   * A port frame in its turn, with nothing waiting before it and nothing being delivered, is handed over
   * here instead of through #drain's loop: the path of every lone call and its reply without a spin budget.
   * A sleeping reader without a spin budget stays asleep through it, its flag raised: the writer left the
   * flag alone when it posted the frame (#post), so a record it writes meanwhile brings its own wake, and
   * nothing here touches shared memory (those few atomic operations were ~4% of a lone call's round trip
   * on one CPU). Otherwise, as #drain ends: the ring (the writer raised no wake for records written since
   * it posted this frame), a spin, or sleep.
   */
  #deliverAtOnce(entry: PortFrame | SeqValueFrame): void {
    const staysAsleep = this.#asleep && !this.#spins.enabled;
    this.#draining = true;
    if (!staysAsleep) {
      this.#asleep = false;
      this.#reader.awake();
    }
    try {
      this.#handOver(entry);
    } finally {
      this.#draining = false;
    }
    if (staysAsleep || this.closed || this.#peerClosed) return;
    if (this.#reader.ready) this.#drain();
    else if (!this.#spin()) this.#sleep();
  }

  #sleep(): void {
    if (this.#reader.sleep()) this.#asleep = true;
    else setImmediate(() => this.#drain());
  }

  /** Polls the ring for the spin budget's time (extending a spin under way); false: no spin now. */
  #spin(): boolean {
    const ms = this.#spins.next();
    if (ms === 0) return false;
    this.#asleep = false;
    this.#reader.awake();
    spinUntil(this, performance.now() + ms);
    return true;
  }

  poll(): boolean {
    return this.#reader.ready;
  }

  ready(): void {
    this.#spins.paid();
    this.#drain();
  }

  expired(): void {
    this.#spins.wasted(this.#writer.unread);
    if (!this.closed && !this.#draining) this.#sleep();
  }

  #onPortClose(): void {
    this.#peerClosed = true;
    stopSpinning(this);
    // Everything the other side published before it closed or died is delivered first, in order; a
    // record it was writing when it died was never published, so it is not read.
    this.#drain(false);
    this.#closeOnce.report(this.#pendingError);
  }
}

/** The length of a SeqValueFrame. */
const SEQ_VALUE_FRAME_LENGTH = 5;

function seqOf(entry: PortFrame | SeqValueFrame): number {
  return entry.length === SEQ_VALUE_FRAME_LENGTH ? entry[4] : entry[0];
}

function isShmPortFrame(data: unknown): data is PortFrame | SeqValueFrame {
  if (!Array.isArray(data)) return false;
  // A value frame's own elements are the channel's to validate, as over a plain port.
  if (data.length === SEQ_VALUE_FRAME_LENGTH) return typeof data[0] === 'number' && typeof data[4] === 'number';
  if (typeof data[0] !== 'number') return false;
  return (
    (data.length === 2 || (data.length === 3 && Array.isArray(data[2]) && data[2].every((b) => b instanceof ArrayBuffer))) &&
    data[1] instanceof Uint8Array
  );
}
