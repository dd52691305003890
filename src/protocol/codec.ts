/**
 * The wire codec: msgpackr, configured so that threads and processes see the same values.
 *
 * - `moreTypes` carries Map, Set, undefined, BigInt, Error and typed arrays faithfully, as structured
 *   clone does (msgpackr's default turns a Map into a plain object).
 * - A function or symbol is an error (`SerializationError`), as it is for structured clone. msgpackr would
 *   otherwise encode a function as `undefined` and silently drop the argument.
 * - So is an object with an own key `__keys__`: msgpackr's encoder keeps each record's keys under that
 *   name in its cache of object shapes, which such a key overwrites, and later objects of some shapes
 *   would then be encoded into bytes that do not decode, on that channel for good.
 * - So is a remote, convoy's proxy to a worker (unsendable.ts): it would arrive as an empty object.
 * - So is a SharedArrayBuffer, which msgpackr writes as an empty object: a channel carries copies and can
 *   share no memory, where structured clone would share it between threads. A typed array or Buffer over
 *   one is copied, as any view is.
 * - So is a value nested deeper than MAX_NESTING_DEPTH (nesting.ts): a thread, whose stack is larger,
 *   could encode what the coordinator cannot decode.
 * - Records (msgpackr's default) are defined inline in each message, never shared or sequential: each
 *   message must decode on its own, because a message whose encoding fails half-way is never sent, and a
 *   sequential structure defined inside it would be lost with it (the stream after such a failure
 *   decodes to garbage).
 */
import { Packr, RESET_BUFFER_MODE, REUSE_BUFFER_MODE, Unpackr, addExtension } from 'msgpackr';
import { ProtocolError, SerializationError, toError } from '../errors.js';
import { MAX_NESTING_DEPTH, nestsDeeperThan } from './nesting.js';
import { InboundBuffers, NO_INBOUND_BUFFERS, TransferSlot } from './transfer.js';
import { unsendableReason } from './unsendable.js';
import { NO_ROOM, TUPLE_WRITER_BYTES, writeTuple } from './tuple-writer.js';
import { Buffer } from 'node:buffer';

const OPTIONS = { moreTypes: true } as const;

/**
 * msgpackr encodes into one buffer per thread, shared by every Packr (a module-level variable in its
 * pack.js), and keeps the largest it ever grew: after one 100 MB argument, 100+ MB would stay allocated
 * for good. After a message past this size, the next encode hands msgpackr a small buffer again (its
 * `useBuffer`); a fresh Packr would not help, as the buffer is not the Packr's.
 */
const LARGE_MESSAGE_BYTES = 1 << 20;
/** The buffer msgpackr starts with. */
const INITIAL_BUFFER_BYTES = 8192;

/**
 * Where a transferred buffer stands in a message (see transfer.ts). msgpackr's extensions are global to
 * the module, so the receiving side's buffers are set for the duration of one synchronous decode.
 */
const TRANSFER_SLOT_TYPE = 0x54;
let inbound: Pick<InboundBuffers, 'resolve'> = NO_INBOUND_BUFFERS;
/**
 * A Buffer is its own extension, decoded into a Buffer with memory of its own — as structured clone gives
 * it, instead of a view that would keep a whole frame alive and show its neighbours' bytes. (msgpackr
 * writes a Buffer as plain `bin`, which decodes into whatever the frame is: a Buffer over TCP, but a
 * Uint8Array over a MessagePort, unless every port frame were first wrapped in a Buffer.)
 */
const BUFFER_TYPE = 0x46;
addExtension({
  Class: Buffer,
  type: BUFFER_TYPE,
  pack: (buffer: Buffer) => buffer,
  unpack: (bytes: Uint8Array) => {
    const own = Buffer.allocUnsafeSlow(bytes.byteLength);
    own.set(bytes);
    return own;
  },
});

addExtension({
  Class: TransferSlot,
  type: TRANSFER_SLOT_TYPE,
  write: (slot: TransferSlot) => [slot.index, slot.view, slot.byteOffset, slot.length],
  read: (data: unknown) => inbound.resolve(data),
});

/** Never written: its extension only refuses (msgpackr would write a SharedArrayBuffer as `{}`). */
const SHARED_MEMORY_TYPE = 0x53;
addExtension({
  Class: SharedArrayBuffer,
  type: SHARED_MEMORY_TYPE,
  write: () => {
    throw new SerializationError(
      "A SharedArrayBuffer cannot be sent: a channel carries copies, not shared memory (a thread worker can be given one in its spec's `data`; a typed array over one is sent as a copy of its bytes)",
    );
  },
  read: () => {
    throw new Error('A SharedArrayBuffer is never encoded');
  },
});

function refuseFunction(): never {
  throw new SerializationError('A function cannot be sent');
}

/**
 * msgpackr asks, for every object it writes, whether to write it as a record: always, once its keys are
 * safe and it is not one that must not be sent (a remote, unsendable.ts).
 */
function recordKeysChecked(object: object): boolean {
  const unsendable = unsendableReason(object);
  if (unsendable !== undefined) throw new SerializationError(unsendable);
  if (Object.hasOwn(object, '__keys__')) {
    throw new SerializationError(
      'An object with an own key "__keys__" cannot be sent (the codec keeps its cache of object shapes under that name)',
    );
  }
  // msgpackr names a record's keys by Object.keys but writes its values by a for…in that skips inherited
  // keys through `object.hasOwnProperty` (all of them, when that is no function). Any other answer than
  // Object.hasOwn's writes values its keys do not name, and the receiver cannot decode the frame (its
  // channel closes as if the sender were broken).
  const ownTest = (object as { hasOwnProperty?: unknown }).hasOwnProperty;
  if (ownTest !== builtInHasOwnProperty && !ownKeysAgree(object, ownTest)) {
    throw new SerializationError(
      'An object whose "hasOwnProperty" does not tell its own keys cannot be sent (the codec writes what that method says is its own)',
    );
  }
  return true;
}

const builtInHasOwnProperty = Object.prototype.hasOwnProperty;

/** Whether the keys msgpackr writes (for…in, filtered by `ownTest`) are exactly the object's own keys. */
function ownKeysAgree(object: object, ownTest: unknown): boolean {
  for (const key in object) {
    const written = typeof ownTest !== 'function' || Boolean(ownTest.call(object, key));
    if (written !== Object.hasOwn(object, key)) return false;
  }
  return true;
}

const NO_BYTES = new Uint8Array(0);

/**
 * msgpackr encodes with state of its module (its buffer, its position), shared by every Packr of a thread,
 * and a value's own code runs as it is encoded and then walked for its depth (getters, toJSON): code that
 * starts another encode then garbles the one under way, or overwrites its bytes before they are copied
 * out, whichever encoder it uses. So while a value is encoded, nothing else may be (see `isEncoding`).
 */
let packing = false;

/**
 * A getter or toJSON of a value being encoded may send a message, on the same channel or another. It would
 * be encoded in the middle of the one under way, which msgpackr cannot do (isEncoding), and on the same
 * channel it would be queued ahead of a message that must come first: it fails instead, alone.
 */
export const REENTRANT_SEND =
  'A message cannot be sent while another is being encoded (from a getter or toJSON of one of its values?): send it after that call';

/** msgpackr is encoding a value in this thread now: another encode must wait until it is done. */
export function isEncoding(): boolean {
  return packing;
}

/** msgpackr's buffer of the last scratch encode, with the range it wrote. */
type ScratchBuffer = Uint8Array & { start: number; end: number };

/**
 * Where the fast path may write a message instead of the encoder's own buffer: the place its bytes would
 * be copied to next (a channel's outbox), so that they are written there once instead.
 */
export interface TupleTarget {
  /**
   * Makes room in `tupleBuffer` from `tupleStart` for a small message. One that may not fit there is
   * written into the encoder's own buffer instead.
   */
  reserveTuple(): void;
  readonly tupleBuffer: Uint8Array;
  readonly tupleView: DataView;
  readonly tupleStart: number;
}

export class Encoder {
  readonly #packr = new Packr({ ...OPTIONS, writeFunction: refuseFunction, useRecords: recordKeysChecked });
  /** The last encode was large: the next one starts on a small buffer (see LARGE_MESSAGE_BYTES). */
  #shrink = false;
  /** Where the fast path writes (tuple-writer.ts) without a target, rewritten by every encode that takes it. */
  readonly #tuple = new Uint8Array(TUPLE_WRITER_BYTES);
  readonly #tupleView = new DataView(this.#tuple.buffer);
  readonly #target: TupleTarget | undefined;
  /** The last encode took the fast path: its bytes are in a buffer the next one writes over. */
  #fastPath = false;
  /**
   * The bytes of the last `encodeScratch` or `encodeMessage` are `scratch[scratchStart, scratchEnd)`:
   * msgpackr's own buffer, or where the fast path wrote, valid until the next encode unless `keep()` is
   * called first.
   */
  scratch: Uint8Array = NO_BYTES;
  scratchStart = 0;
  scratchEnd = 0;

  /** `target`: where the fast path writes, when given (see TupleTarget). */
  constructor(target?: TupleTarget) {
    this.#target = target;
  }

  /** Encodes one value. The bytes stay valid: msgpackr never writes over a buffer it has returned. */
  encode(value: unknown): Uint8Array {
    this.encodeScratch(value);
    return this.keep();
  }

  /**
   * Encodes one message like `encodeScratch`, by the fast path when it takes the message (the same bytes,
   * sooner; see tuple-writer.ts).
   */
  encodeMessage(message: unknown): number {
    if (!Array.isArray(message)) return this.encodeScratch(message);
    const target = this.#target;
    let buffer: Uint8Array = this.#tuple;
    let view: DataView = this.#tupleView;
    let start = 0;
    if (target) {
      target.reserveTuple();
      buffer = target.tupleBuffer;
      view = target.tupleView;
      start = target.tupleStart;
    }
    let end = writeTuple(message, buffer, view, start);
    if (end === NO_ROOM) {
      // Rare (a target with less room left than this message's long strings may need): the own buffer has enough.
      buffer = this.#tuple;
      view = this.#tupleView;
      start = 0;
      end = writeTuple(message, buffer, view, start);
    }
    if (end < 0) return this.encodeScratch(message);
    this.scratch = buffer;
    this.scratchStart = start;
    this.scratchEnd = end;
    this.#fastPath = true;
    return end - start;
  }

  /**
   * Encodes one value into msgpackr's buffer without allocating, and returns its length: the bytes are
   * `scratch[scratchStart, scratchEnd)` until the next encode. Copy them out, or `keep()` them.
   */
  encodeScratch(value: unknown): number {
    if (this.#shrink) this.#startSmall();
    // Until the bytes are in msgpackr's buffer and the value has been walked for its depth, the value's
    // own code may run (getters, toJSON), and must not start another encode (see `packing`).
    packing = true;
    try {
      let buffer: ScratchBuffer;
      try {
        // Written where the last one was (the buffer is reused), and returned whole with the range.
        buffer = this.#packr.pack(value, REUSE_BUFFER_MODE | RESET_BUFFER_MODE) as unknown as ScratchBuffer;
      } catch (error) {
        if (error instanceof SerializationError) throw error;
        // msgpackr's word for a symbol (the one type it refuses that writeFunction does not catch).
        const refused = /^Unknown type: (\w+)$/.exec(toError(error).message)?.[1];
        // msgpackr follows a cycle until the stack runs out: said in the words a transfer's walk uses.
        const overflow = error instanceof RangeError && /call stack/.test(error.message);
        const message = refused
          ? `A ${refused} cannot be sent`
          : overflow
            ? 'A circular structure, or one nested too deep to walk, cannot be sent'
            : `Cannot encode value: ${toError(error).message}`;
        throw new SerializationError(message, { cause: error });
      }
      const length = buffer.end - buffer.start;
      // Set first: a large message refused below must not leave msgpackr holding its buffer either.
      if (length > LARGE_MESSAGE_BYTES) this.#shrink = true;
      // Each level of nesting takes a byte at least: only a message this long can be too deep to decode.
      if (length > MAX_NESTING_DEPTH && nestsDeeperThan(value, MAX_NESTING_DEPTH)) {
        throw new SerializationError(`Cannot encode value: it nests deeper than ${MAX_NESTING_DEPTH} levels`);
      }
      this.scratch = buffer;
      this.scratchStart = buffer.start;
      this.scratchEnd = buffer.end;
      this.#fastPath = false;
      return length;
    } finally {
      packing = false;
    }
  }

  /**
   * The bytes of the last encode are no longer needed (copied out, or decoded): after a large one, msgpackr
   * is handed a small buffer now, as `keep()` does, instead of holding the large one until this encoder's
   * next encode, which may never come (its buffer is the thread's, whichever encoder grew it).
   */
  release(): void {
    if (this.#shrink) this.#startSmall();
  }

  /** Whether the last encode was the tuple writer's (tuple-writer.ts): its bytes hold primitives only. */
  get tookFastPath(): boolean {
    return this.#fastPath;
  }

  /** The bytes of the last `encodeScratch` or `encodeMessage`, kept: later encodes never write over them. */
  keep(): Uint8Array {
    // The fast path's buffer is rewritten by the next message that takes it: its bytes are copied out.
    if (this.#fastPath) return this.scratch.slice(this.scratchStart, this.scratchEnd);
    this.#packr.position = this.scratchEnd;
    const bytes = this.scratch.subarray(this.scratchStart, this.scratchEnd);
    // Now, not at the next encode: the next one may be a long time coming (a plain message is not encoded
    // at all over a port, see Channel), and meanwhile msgpackr's buffer would hold the large one's memory.
    if (this.#shrink) this.#startSmall();
    return bytes;
  }

  /** Hands msgpackr a small buffer. Bytes kept from a large encode are views of the old one: they keep it only as long as they live. */
  #startSmall(): void {
    this.#packr.useBuffer(Buffer.allocUnsafeSlow(INITIAL_BUFFER_BYTES));
    this.#shrink = false;
    this.scratch = NO_BYTES;
    this.#fastPath = false;
  }
}

/**
 * msgpackr keeps a DataView on each source it decodes (`source.dataView`), creating it and adding the
 * property on first use. Every frame is a fresh typed array, so every decode paid for both — the larger
 * part of decoding a small frame. Small frames are therefore copied into a source of their exact size that
 * already has one (a few bytes to copy, per thread a handful of sizes in use). Decoded values never point
 * into the source (binaries and typed arrays are copied out), so it can be reused at once.
 */
const REUSED_SOURCE_BYTES = 512;
const MAX_REUSED_SOURCES = 64;
const reusedSources = new Map<number, Buffer & { dataView?: DataView }>();
/** A MessagePack nil with its DataView: decoded after a large frame (see Decoder, #releaseSource). */
const RELEASE_SOURCE: Buffer & { dataView?: DataView } = Buffer.from([0xc0]);
RELEASE_SOURCE.dataView = new DataView(RELEASE_SOURCE.buffer, RELEASE_SOURCE.byteOffset, 1);
/** Decodes under way in this thread: a nested one (never expected) leaves the shared sources alone. */
let decodeDepth = 0;

/**
 * A frame's bytes, or the same bytes as a binary string (one character per byte, 0–255): the cheapest
 * form in which a MessagePort moves a small frame.
 */
export type FrameData = Uint8Array | string;

function sourceFor(data: FrameData): Uint8Array {
  const length = data.length;
  if (length > REUSED_SOURCE_BYTES || decodeDepth > 0) {
    if (typeof data === 'string') return Buffer.from(data, 'latin1');
    // A frame read in place from a shared-memory ring is copied out first: msgpackr's native string
    // extractor refuses shared memory, and with the strings read in JS a frame of 500 notifies took ~1.45x
    // as long to decode as copying it and decoding the copy (bench/shm-decode.ts).
    return data.buffer instanceof SharedArrayBuffer ? Buffer.from(data) : data;
  }
  let source = reusedSources.get(length);
  if (!source) {
    if (reusedSources.size >= MAX_REUSED_SOURCES) reusedSources.clear();
    source = Buffer.allocUnsafeSlow(length);
    source.dataView = new DataView(source.buffer, source.byteOffset, length);
    reusedSources.set(length, source);
  }
  if (typeof data === 'string') source.write(data, 0, 'latin1');
  else source.set(data);
  return source;
}

export class Decoder {
  /**
   * `copyBuffers`: a binary value gets memory of its own, as with structured clone, instead of being a
   * view into the frame (Buffers do anyway, see BUFFER_TYPE; other typed arrays are always copied, to
   * align them).
   */
  readonly #unpackr = new Unpackr({ ...OPTIONS, copyBuffers: true });

  /** Decodes a frame holding one or more concatenated values. */
  decodeAll(bytes: Uint8Array): unknown[] {
    try {
      return this.#unpackr.unpackMultiple(bytes) as unknown[];
    } catch (error) {
      throw new ProtocolError(`Undecodable frame of ${bytes.byteLength} bytes: ${toError(error).message}`, { cause: error });
    }
  }

  /**
   * Decodes the values of a frame one at a time, handing each to `each` (with its index and its size:
   * its encoded bytes plus those of the buffers it took) as soon as it is read; `each` returning false
   * stops the decode there. A frame of junk is refused at its first bad
   * value instead of after decoding all of it (MessagePack expands: each 0x80 byte is a new object).
   * `transferred` are the buffers that came beside the frame, for its transfer placeholders.
   */
  decodeEach(bytes: FrameData, each: (value: unknown, index: number, size: number) => boolean, transferred?: readonly ArrayBuffer[]): void {
    let index = 0;
    const buffers = transferred ? new InboundBuffers(transferred) : undefined;
    if (buffers) inbound = buffers;
    const source = sourceFor(bytes);
    decodeDepth++;
    try {
      // msgpackr hands each value's start and end (typed optional, always given with a callback).
      this.#unpackr.unpackMultiple(source, (value: unknown, start?: number, end?: number) => {
        const transferredBytes = buffers ? buffers.messageDone() : 0;
        return each(value, index++, end! - start! + transferredBytes);
      });
      buffers?.finish();
    } catch (error) {
      throw new ProtocolError(`Undecodable frame of ${bytes.length} bytes: ${toError(error).message}`, { cause: error });
    } finally {
      decodeDepth--;
      inbound = NO_INBOUND_BUFFERS;
      if (bytes.length > LARGE_MESSAGE_BYTES && decodeDepth === 0) this.#releaseSource();
    }
  }

  /**
   * msgpackr keeps a DataView on the last source it decoded (a module-level variable, not cleared after
   * the decode): after a large frame, that would hold the frame's memory until the next decode, which
   * may be a long time coming (a MessagePort's plain messages are not decoded at all, see Channel). A
   * one-byte decode moves it off.
   */
  #releaseSource(): void {
    this.#unpackr.unpack(RELEASE_SOURCE);
  }

  decode(bytes: Uint8Array): unknown {
    try {
      return this.#unpackr.unpack(bytes);
    } catch (error) {
      throw new ProtocolError(`Undecodable frame of ${bytes.byteLength} bytes: ${toError(error).message}`, { cause: error });
    }
  }
}
