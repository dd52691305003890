/**
 * Reassembling a frame that crossed NATS in pieces (`first`, then `more` until its length is reached),
 * and refusing what cannot be one: a frame over `maxFrameBytes`, a piece outside a frame, a frame that
 * starts before the last one is whole. Pure, no I/O.
 */
import { ProtocolError } from '../errors.js';
import { WireKind, type WireMessage } from './nats-wire.js';

export class PieceAssembler {
  readonly #maxFrameBytes: number;
  #bytes: Uint8Array | undefined;
  #filled = 0;

  constructor(maxFrameBytes: number) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** Whether a frame is partly here. */
  get partial(): boolean {
    return this.#bytes !== undefined;
  }

  /**
   * Takes a `frame`, `first` or `more` message: returns the frame once whole, undefined while pieces are
   * missing. Throws ProtocolError for anything that cannot be part of a well-formed sequence.
   */
  take({ kind, body, total }: WireMessage): Uint8Array | undefined {
    const bytes = this.#bytes;
    if (kind === WireKind.More) {
      if (!bytes || this.#filled + body.byteLength > bytes.byteLength) throw new ProtocolError('NATS transport: a piece outside a frame');
      bytes.set(body, this.#filled);
      this.#filled += body.byteLength;
      if (this.#filled < bytes.byteLength) return undefined;
      this.#bytes = undefined;
      return bytes;
    }
    if (bytes) throw new ProtocolError('NATS transport: a frame began before the last one was whole');
    if (kind === WireKind.Frame) {
      this.#check(body.byteLength);
      return body;
    }
    this.#check(total);
    if (body.byteLength >= total) throw new ProtocolError('NATS transport: a first piece as large as its frame');
    this.#bytes = new Uint8Array(total);
    this.#bytes.set(body);
    this.#filled = body.byteLength;
    return undefined;
  }

  clear(): void {
    this.#bytes = undefined;
  }

  #check(bytes: number): void {
    if (bytes > this.#maxFrameBytes) throw new ProtocolError(`Frame of ${bytes} bytes exceeds maxFrameBytes (${this.#maxFrameBytes})`);
  }
}
