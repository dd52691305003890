/**
 * A transport over a MessagePort, between two threads of one process. A small frame is posted as a
 * binary string, a larger one as a Uint8Array whose buffer is transferred, not copied; a frame with
 * buffers transferred beside it as `[frame, buffers]`; a value frame as it is, cloned. A port emits
 * `close` within milliseconds when the thread on the other side exits or is terminated, which is how a
 * thread's death reaches its peers.
 */
import type { MessagePort } from 'node:worker_threads';
import { ProtocolError } from '../errors.js';
import { CloseOnce, isValueFrame, type Transport, type TransportHandlers, type ValueFrame } from './transport.js';
import { clock } from '../clock.js';
import { Buffer } from 'node:buffer';

/**
 * How long a port whose peer is known to be gone may take to close by itself. Its close comes within
 * milliseconds of the thread's end, after every message the thread posted; one that has not come by
 * then never will (see peerGone).
 */
const PEER_GONE_GRACE_MS = 250;
/** How long a port works through frames before the thread's other ports and timers get a turn. */
const SLICE_MS = 10;
/** A slice that has run this long gets its end marked (see the message handler). */
const SLICE_CHECK_MS = 1;
/**
 * Small frames that come fast are checked against the slice at strides doubling up to this many (see the
 * message handler): read twice per frame, with the channel's read, the clock cost a call made one at a
 * time a few percent of its round trip (docs/benchmarks.md, "One call at a time against birpc").
 */
const MAX_CHECK_STRIDE = 8;

export class PortTransport implements Transport {
  readonly kind = 'port';
  readonly label = 'port';
  readonly transfers = true;
  readonly #port: MessagePort;
  readonly #closeOnce = new CloseOnce();
  #pendingError: Error | undefined;
  #handlers: TransportHandlers | undefined;
  /** Frames deferred past a slice, handled in order before any newer one. */
  #inbox: PortFrame[] = [];
  #draining = false;
  #sliceStart = 0;
  #sliceOpen = false;
  #closeScheduled = false;
  /** Small frames between two checks of the slice, and those left before the next. */
  #stride = 1;
  #untilCheck = 1;
  /** When the last check read the clock. */
  #checkedAt = 0;
  #goneTimer: NodeJS.Timeout | undefined;
  /** The port closed while frames still waited in the inbox: report it once they are delivered. */
  #closeAfterInbox = false;
  readonly #closeSlice = (): void => {
    this.#sliceOpen = false;
    this.#closeScheduled = false;
  };

  readonly #drain = (): void => {
    const started = clock.now();
    let next = 0;
    while (next < this.#inbox.length && !this.closed) {
      deliver(this.#handlers!, this.#inbox[next++]!);
      if (clock.now() - started > SLICE_MS && next < this.#inbox.length) {
        this.#inbox = this.#inbox.slice(next);
        setImmediate(this.#drain);
        return;
      }
    }
    this.#inbox = [];
    this.#draining = false;
    if (this.#closeAfterInbox) this.#closeOnce.report(this.#pendingError);
  };

  constructor(port: MessagePort) {
    this.#port = port;
  }

  get closed(): boolean {
    return this.#closeOnce.done;
  }

  send(frame: Uint8Array, transfer?: ArrayBuffer[]): boolean {
    if (this.closed) return false;
    if (!transfer && frame.byteLength <= STRING_FRAME_BYTES) {
      this.#port.postMessage(toBinaryString(frame));
      return true;
    }
    // Transfer only when the frame owns its whole buffer; otherwise the structured clone copies it.
    const owns = frame.byteOffset === 0 && frame.byteLength === frame.buffer.byteLength && frame.buffer instanceof ArrayBuffer;
    const list = owns ? [frame.buffer as ArrayBuffer] : [];
    if (transfer) {
      list.push(...transfer);
      this.#port.postMessage([frame, transfer], list);
    } else {
      this.#port.postMessage(frame, list);
    }
    return true;
  }

  sendValue(frame: ValueFrame): boolean {
    if (this.closed) return false;
    this.#port.postMessage(frame);
    return true;
  }

  start(handlers: TransportHandlers): void {
    this.#closeOnce.attach(handlers);
    this.#handlers = handlers;
    this.#port.on('message', (data: unknown) => {
      if (this.closed) return;
      if (!isPortFrame(data)) {
        this.destroy(new ProtocolError(`Expected a Uint8Array frame (or [frame, ArrayBuffer[]]) on the port, got ${typeof data}`));
        return;
      }
      if (this.#draining) {
        this.#inbox.push(data);
        return;
      }
      // A small frame (a string or a value) is cheap to take in: while they come fast, the clock is read
      // for every `#stride`-th only, a stride that doubles up to MAX_CHECK_STRIDE and falls back to 1 once a
      // stretch between checks took over SLICE_CHECK_MS (slow handlers, or frames far apart). So a slice
      // overruns by a few small frames at most; a larger frame is checked always.
      if (--this.#untilCheck > 0 && (typeof data === 'string' || isValueFrame(data))) {
        deliver(handlers, data);
        return;
      }
      const now = clock.now();
      this.#stride = now - this.#checkedAt > SLICE_CHECK_MS ? 1 : Math.min(this.#stride * 2, MAX_CHECK_STRIDE);
      this.#untilCheck = this.#stride;
      this.#checkedAt = now;
      // A slice is one go of Node's port callback loop. Once it has run for SLICE_CHECK_MS, a setImmediate
      // marks where the loop yields; until then no close is scheduled, so a slice older than that with no
      // close pending must belong to an earlier turn — start a new one (or a stride of unchecked frames
      // took it past: the stride is then back to 1, and the mark comes a frame or two later). (Only slow
      // slices leave an Immediate behind: a per-frame one showed up as an open resource after every small
      // reply.)
      if (!this.#sliceOpen || (!this.#closeScheduled && now - this.#sliceStart > SLICE_CHECK_MS)) {
        this.#sliceOpen = true;
        this.#sliceStart = now;
      } else if (this.#closeScheduled && now - this.#sliceStart > SLICE_MS) {
        // Node hands a port at least 1000 queued messages in one go (node_messaging.cc, OnMessage), so a
        // flood on this port would starve the thread's other ports (its control channel, heartbeats).
        // Past a slice, frames wait in our inbox and are worked through between event-loop turns.
        this.#inbox.push(data);
        this.#draining = true;
        setImmediate(this.#drain);
        return;
      }
      deliver(handlers, data);
      if (!this.#closeScheduled && clock.now() - this.#sliceStart > SLICE_CHECK_MS) {
        this.#closeScheduled = true;
        setImmediate(this.#closeSlice);
      }
    });
    this.#port.on('messageerror', (error: Error) => this.destroy(new ProtocolError('Undeserializable port message', { cause: error })));
    // Node emits 'close' only after handing us every message posted before the other side went, but
    // some of those may still wait in our inbox: they were received, so they are delivered first.
    this.#port.on('close', () => {
      if (this.#draining) this.#closeAfterInbox = true;
      else this.#closeOnce.report(this.#pendingError);
    });
    // A port that receives messages keeps its thread alive; that is the owner's choice, not ours.
    this.#port.start();
  }

  close(): void {
    if (this.closed) return;
    // Messages posted before close() are still delivered; then both sides see `close`.
    this.#port.close();
  }

  /**
   * The thread on the other side is known to be gone. Its port closes by itself, after every message it
   * posted, within milliseconds of its end: except a port that was handed to the thread after it had
   * been terminated, which nobody received and nothing will ever close (Node leaves it open). Such a
   * port carried nothing from the peer, so after the grace it is closed from this side, and what waits
   * in the inbox is still delivered first.
   */
  peerGone(): void {
    if (!this.closed) this.#goneTimer ??= closeUnlessClosed(this.#port, () => this.closed);
  }

  destroy(error?: Error): void {
    if (this.closed) return;
    this.#pendingError = error;
    this.#port.close();
    // Report now: a destroyed transport must fail its calls at once, not when the port event comes.
    this.#closeOnce.report(error);
  }
}

/**
 * A transport's `peerGone` over `port`: closes it after PEER_GONE_GRACE_MS unless `closed()` by then. Its
 * `close` event follows, on this side too, as for a close from the other side.
 */
export function closeUnlessClosed(port: MessagePort, closed: () => boolean): NodeJS.Timeout {
  return setTimeout(() => {
    if (!closed()) port.close();
  }, PEER_GONE_GRACE_MS).unref();
}

/**
 * Frames up to this size cross as binary strings. A small typed array is the dearest thing to post: it
 * lives in V8's heap until something asks for its buffer, which posting does (and transferring does more
 * work still), while a short string is copied as it is. Past a few KiB, moving the buffer wins.
 */
const STRING_FRAME_BYTES = 4096;

/** The frame's bytes as a binary string (one character per byte). */
function toBinaryString(frame: Uint8Array): string {
  return (Buffer.isBuffer(frame) ? frame : Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength)).toString('latin1');
}

/**
 * What one postMessage carries: a small frame as a binary string, a frame, a frame with the buffers
 * transferred beside it, or a value frame.
 */
type PortFrame = string | Uint8Array | [Uint8Array, ArrayBuffer[]] | ValueFrame;

function isPortFrame(data: unknown): data is PortFrame {
  if (typeof data === 'string' || data instanceof Uint8Array || isValueFrame(data)) return true;
  return (
    Array.isArray(data) &&
    data.length === 2 &&
    data[0] instanceof Uint8Array &&
    Array.isArray(data[1]) &&
    (data[1] as unknown[]).every((buffer) => buffer instanceof ArrayBuffer)
  );
}

function deliver(handlers: TransportHandlers, data: PortFrame): void {
  if (typeof data === 'string' || data instanceof Uint8Array || isValueFrame(data)) handlers.frame(data);
  else handlers.frame(data[0], data[1]);
}
