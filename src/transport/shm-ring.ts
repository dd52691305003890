/**
 * A single-producer, single-consumer ring of records in a SharedArrayBuffer, for two threads of one
 * process. Pure: no I/O, no timers; waking a sleeping side is the transport's business (shm.ts).
 *
 * Layout: a control block, then `capacity` bytes of records. Each control word sits on a line of its
 * own, so the writer's stores to `head` never invalidate the line the reader polls for `tail`:
 *
 *   head          bytes the writer has published (free-running u32; written by the writer only)
 *   tail          bytes the reader has consumed (free-running u32; written by the reader only)
 *   readerAsleep  1 while the reader sleeps and must be woken to see new records
 *   writerWaits   1 while the writer holds records back for lack of room and must be told of it
 *
 * A record is a header `[u32 length][u32 seq]` and `length` payload bytes, padded to 8 bytes; the
 * payload may wrap around the end of the ring, the header never does (capacity is a power of two, so a
 * free-running index wraps at 2^32 exactly where the ring does). A record becomes visible only when the
 * writer stores the new `head` after writing it in full, so a writer that dies mid-record leaves nothing
 * for the reader to misread: the torn bytes lie past `head`.
 */
import { ProtocolError } from '../errors.js';
import { MAX_RING_BYTES, MIN_RING_BYTES, isRingCapacity } from './ring-capacity.js';

/** Bytes of the control block in front of the records. */
export const RING_CONTROL_BYTES = 512;
/** Bytes of a record's header: payload length and sequence number. */
export const RECORD_HEADER_BYTES = 8;

/** Control words (Int32Array indices), 128 bytes apart: a cache line and its adjacent-line prefetch. */
const HEAD = 0;
const TAIL = 32;
const READER_ASLEEP = 64;
const WRITER_WAITS = 96;

/** A SharedArrayBuffer laid out as one ring whose record area holds `capacityBytes` (a power of two). */
export function createRingBuffer(capacityBytes: number): SharedArrayBuffer {
  if (!isRingCapacity(capacityBytes)) {
    throw new RangeError(`A ring's capacity must be a power of two from ${MIN_RING_BYTES} to ${MAX_RING_BYTES}, got ${capacityBytes}`);
  }
  return new SharedArrayBuffer(RING_CONTROL_BYTES + capacityBytes);
}

/**
 * Moves a fresh ring's indices to `index` (a multiple of 8), as if that many bytes had passed through it:
 * for tests of wrap-around, at the end of the record area and at 2^32.
 */
export function positionRing(buffer: SharedArrayBuffer, index: number): void {
  const control = new Int32Array(buffer, 0, RING_CONTROL_BYTES / 4);
  Atomics.store(control, HEAD, index | 0);
  Atomics.store(control, TAIL, index | 0);
}

/** Bytes a record of `length` payload bytes takes in the ring. */
export function recordBytes(length: number): number {
  return (RECORD_HEADER_BYTES + length + 7) & ~7;
}

/** The views both ends share. */
class RingViews {
  readonly capacity: number;
  readonly mask: number;
  readonly control: Int32Array;
  readonly words: Uint32Array;
  readonly bytes: Uint8Array;

  constructor(buffer: SharedArrayBuffer) {
    this.capacity = buffer.byteLength - RING_CONTROL_BYTES;
    if (!isRingCapacity(this.capacity)) throw new RangeError(`Not a ring buffer: ${buffer.byteLength} bytes`);
    this.mask = this.capacity - 1;
    this.control = new Int32Array(buffer, 0, RING_CONTROL_BYTES / 4);
    this.words = new Uint32Array(buffer, RING_CONTROL_BYTES);
    this.bytes = new Uint8Array(buffer, RING_CONTROL_BYTES);
  }
}

export class RingWriter {
  readonly #ring: RingViews;
  /** Our own `head`: only this side writes it, so there is no need to load it. */
  #head: number;
  /** The reader's `tail` as last loaded: free space is at least what it implies. */
  #tail: number;

  constructor(buffer: SharedArrayBuffer) {
    this.#ring = new RingViews(buffer);
    this.#head = Atomics.load(this.#ring.control, HEAD) >>> 0;
    this.#tail = Atomics.load(this.#ring.control, TAIL) >>> 0;
  }

  get capacity(): number {
    return this.#ring.capacity;
  }

  /** The largest payload one record can carry (it then fills the whole ring). */
  get maxRecordBytes(): number {
    return this.#ring.capacity - RECORD_HEADER_BYTES;
  }

  /**
   * Writes `payload` as one record tagged `seq` and publishes it. Returns false, writing nothing, when
   * the ring has no room for it now.
   */
  tryWrite(payload: Uint8Array, seq: number): boolean {
    const length = payload.byteLength;
    const size = recordBytes(length);
    const { capacity, mask, words, bytes, control } = this.#ring;
    if (size > capacity - ((this.#head - this.#tail) >>> 0)) {
      this.#tail = Atomics.load(control, TAIL) >>> 0;
      if (size > capacity - ((this.#head - this.#tail) >>> 0)) return false;
    }
    const at = this.#head & mask;
    words[at >>> 2] = length;
    words[(at >>> 2) + 1] = seq;
    const start = (at + RECORD_HEADER_BYTES) & mask;
    const first = Math.min(length, capacity - start);
    bytes.set(first === length ? payload : payload.subarray(0, first), start);
    if (first < length) bytes.set(payload.subarray(first), 0);
    this.#head = (this.#head + size) >>> 0;
    // The store publishes the record: everything written above happens-before a reader's load of it.
    Atomics.store(control, HEAD, this.#head | 0);
    return true;
  }

  /**
   * Whether the reader is asleep and needs a wake to see what was just published. Clears the flag, so
   * one sleep costs one wake however many records follow.
   */
  takeReaderAsleep(): boolean {
    const { control } = this.#ring;
    return Atomics.load(control, READER_ASLEEP) !== 0 && Atomics.exchange(control, READER_ASLEEP, 0) !== 0;
  }

  /**
   * Whether the reader has yet to free all that was published: it has not run since, or is still
   * delivering it.
   */
  get unread(): boolean {
    this.#tail = Atomics.load(this.#ring.control, TAIL) >>> 0;
    return this.#tail !== this.#head;
  }

  /**
   * Asks to be told when the reader frees space, for a record of `length` payload bytes that did not
   * fit. Returns true if the space appeared meanwhile (nothing to wait for then).
   */
  awaitRoom(length: number): boolean {
    const { control, capacity } = this.#ring;
    Atomics.store(control, WRITER_WAITS, 1);
    // Checked after the flag is up (both sequentially consistent): either we see the reader's new tail
    // here, or the reader sees the flag after storing it, and tells us.
    this.#tail = Atomics.load(control, TAIL) >>> 0;
    if (recordBytes(length) > capacity - ((this.#head - this.#tail) >>> 0)) return false;
    Atomics.store(control, WRITER_WAITS, 0);
    return true;
  }
}

/** The header of the next record, without consuming it. */
export interface RecordHeader {
  length: number;
  seq: number;
}

export class RingReader {
  readonly #ring: RingViews;
  /** Our own `tail`: only this side writes it. */
  #tail: number;
  /** The writer's `head` as last loaded: records up to it are complete. */
  #head: number;
  readonly #next: RecordHeader = { length: 0, seq: 0 };
  /** Where a record that wraps around the end of the ring is put together (see read()). */
  #wrapped = new Uint8Array(0);

  constructor(buffer: SharedArrayBuffer) {
    this.#ring = new RingViews(buffer);
    this.#tail = Atomics.load(this.#ring.control, TAIL) >>> 0;
    this.#head = Atomics.load(this.#ring.control, HEAD) >>> 0;
  }

  get capacity(): number {
    return this.#ring.capacity;
  }

  /** Whether a complete record is waiting (one atomic load when the last known ones are used up). */
  get ready(): boolean {
    if (this.#head !== this.#tail) return true;
    this.#head = Atomics.load(this.#ring.control, HEAD) >>> 0;
    return this.#head !== this.#tail;
  }

  /**
   * The next record's header (an object reused by every call), or undefined when the ring is empty.
   * Throws ProtocolError when the header cannot be true: a length past what was published.
   */
  peek(): RecordHeader | undefined {
    if (!this.ready) return undefined;
    const { mask, words, capacity } = this.#ring;
    const at = this.#tail & mask;
    const length = words[at >>> 2]!;
    const published = (this.#head - this.#tail) >>> 0;
    if (published > capacity || length > capacity - RECORD_HEADER_BYTES || recordBytes(length) > published) {
      throw new ProtocolError(`Corrupt shared-memory ring: a record of ${length} bytes where ${published} are published`);
    }
    this.#next.length = length;
    this.#next.seq = words[(at >>> 2) + 1]!;
    return this.#next;
  }

  /**
   * The record `peek()` returned, readable until `release()`: a view into the ring when the record lies in
   * one piece (no copy, no allocation but the view), else the record copied into a buffer this reader
   * reuses. Either way its bytes change after `release()`; whoever keeps them copies them first.
   */
  read(): Uint8Array {
    const { length } = this.#next;
    const { capacity, mask, bytes } = this.#ring;
    const start = ((this.#tail & mask) + RECORD_HEADER_BYTES) & mask;
    const first = Math.min(length, capacity - start);
    if (first === length) return bytes.subarray(start, start + length);
    if (this.#wrapped.byteLength < length) this.#wrapped = new Uint8Array(Math.max(length, 2 * this.#wrapped.byteLength));
    const out = this.#wrapped.subarray(0, length);
    out.set(bytes.subarray(start, capacity));
    out.set(bytes.subarray(0, length - first), first);
    return out;
  }

  /** Frees the space of the record `peek()` returned: the writer may write over it from now on. */
  release(): void {
    this.#tail = (this.#tail + recordBytes(this.#next.length)) >>> 0;
    Atomics.store(this.#ring.control, TAIL, this.#tail | 0);
  }

  /** The record `peek()` returned, copied into a buffer of its own, and its space freed. */
  take(): Uint8Array {
    // slice() of a view over shared memory copies into a new, unshared ArrayBuffer.
    const out = this.read().slice();
    this.release();
    return out;
  }

  /**
   * Announces that the reader is about to sleep. Returns false — and stays awake — when a record was
   * published meanwhile: the flag goes up before the last look, so a writer either sees it and wakes
   * us, or published early enough for that look to see its record.
   */
  sleep(): boolean {
    const { control } = this.#ring;
    Atomics.store(control, READER_ASLEEP, 1);
    if (!this.ready) return true;
    Atomics.store(control, READER_ASLEEP, 0);
    return false;
  }

  /** Awake again without a writer's wake (a spin, a timer): writers need not wake us. */
  awake(): void {
    Atomics.store(this.#ring.control, READER_ASLEEP, 0);
  }

  /**
   * Whether the writer waits for room and at least `minFreeBytes` are free now; clears its flag (one
   * notice per wait).
   */
  takeWriterWaits(minFreeBytes = 0): boolean {
    const { control, capacity } = this.#ring;
    if (Atomics.load(control, WRITER_WAITS) === 0) return false;
    const used = (Atomics.load(control, HEAD) - this.#tail) >>> 0;
    return capacity - used >= minFreeBytes && Atomics.exchange(control, WRITER_WAITS, 0) !== 0;
  }
}
