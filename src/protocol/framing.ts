/**
 * Length-prefixed frames for byte streams (TCP): a u32 big-endian length, then that many bytes.
 * The decoder accepts chunks split or coalesced at any byte boundary.
 */
import { ProtocolError } from '../errors.js';
import { Buffer } from 'node:buffer';

export const FRAME_HEADER_BYTES = 4;
/** The largest length a u32 prefix can state. */
export const MAX_FRAME_LIMIT = 0xffff_ffff;

/** The 4-byte header for a frame of `length` bytes. */
export function frameHeader(length: number): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  writeFrameHeader(header, length);
  return header;
}

/** `bytes` behind their header, in one buffer (a copy of them): one write for a small frame. */
export function prefixedFrame(bytes: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + bytes.byteLength);
  writeFrameHeader(frame, bytes.byteLength);
  frame.set(bytes, FRAME_HEADER_BYTES);
  return frame;
}

/** Writes the header of a frame of `length` bytes at the start of `target`. */
export function writeFrameHeader(target: Uint8Array, length: number): void {
  target[0] = length >>> 24;
  target[1] = (length >>> 16) & 0xff;
  target[2] = (length >>> 8) & 0xff;
  target[3] = length & 0xff;
}

export class FrameDecoder {
  readonly #maxFrameBytes: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** Length of the frame being read, once its header is complete. */
  #expected = -1;

  constructor(maxFrameBytes: number) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** Bytes held while waiting for the rest of a frame. */
  get buffered(): number {
    return this.#buffered;
  }

  /**
   * A frame has begun and not ended: some of its bytes are held, or its length prefix has been read and
   * none of its body yet (then nothing is buffered, and an end of the stream there is still a cut frame).
   */
  get partial(): boolean {
    return this.#buffered > 0 || this.#expected >= 0;
  }

  /**
   * Feeds one chunk and returns every frame it completes, in order. Throws ProtocolError for a frame
   * longer than `maxFrameBytes`, before buffering its body: a forged length cannot make us allocate.
   * With `maxFrames`, stops after that many and keeps the rest buffered (see `takeRemainder`).
   */
  push(chunk: Buffer, maxFrames = Infinity): Buffer[] {
    // The common case on a connection with one call at a time: nothing buffered, and the chunk is exactly
    // one whole frame. It is that frame, without the bookkeeping below.
    if (this.#buffered === 0 && this.#expected < 0 && chunk.length >= FRAME_HEADER_BYTES && maxFrames > 0) {
      const length = chunk.readUInt32BE(0);
      if (chunk.length === FRAME_HEADER_BYTES + length && length > 0 && length <= this.#maxFrameBytes) {
        return [chunk.subarray(FRAME_HEADER_BYTES)];
      }
    }
    const frames: Buffer[] = [];
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
    }
    while (frames.length < maxFrames) {
      if (this.#expected < 0) {
        if (this.#buffered < FRAME_HEADER_BYTES) break;
        const length = this.#take(FRAME_HEADER_BYTES).readUInt32BE(0);
        if (length > this.#maxFrameBytes) {
          throw new ProtocolError(`Frame of ${length} bytes exceeds maxFrameBytes (${this.#maxFrameBytes})`);
        }
        this.#expected = length;
      }
      if (this.#buffered < this.#expected) break;
      frames.push(this.#take(this.#expected));
      this.#expected = -1;
    }
    return frames;
  }

  /** Hands back every byte not yet returned as a frame, as raw stream bytes (for a hand-over to another decoder). */
  takeRemainder(): Buffer[] {
    const rest = this.#expected >= 0 ? [frameHeader(this.#expected), ...this.#chunks] : this.#chunks;
    this.#chunks = [];
    this.#buffered = 0;
    this.#expected = -1;
    return rest;
  }

  /** Removes and returns the first `n` buffered bytes, copying only when they span chunks. */
  #take(n: number): Buffer {
    // A zero-length frame (legal on the wire) may complete when nothing at all is buffered.
    if (n === 0) return Buffer.alloc(0);
    this.#buffered -= n;
    const first = this.#chunks[0]!;
    if (first.length === n) {
      this.#chunks.shift();
      return first;
    }
    if (first.length > n) {
      this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let offset = 0;
    while (offset < n) {
      const chunk = this.#chunks[0]!;
      const used = Math.min(chunk.length, n - offset);
      chunk.copy(out, offset, 0, used);
      offset += used;
      if (used === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(used);
    }
    return out;
  }
}
