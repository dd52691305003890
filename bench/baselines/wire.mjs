// The raw wire shared by the baseline callers (TypeScript) and callees (.mjs threads and processes).
// Plain .mjs because `node --import tsx` does not reach worker threads on Node 20; types in wire.d.mts.
import { Packr } from 'msgpackr';

/** A call envelope `{t, id, m, a}`, the shape an RPC library puts on the wire. */
export function callEnvelope(id) {
  return { t: 0, id, m: 'inc', a: [1] };
}

/** `size` call envelopes with consecutive ids. */
export function callBatch(firstId, size) {
  const out = new Array(size);
  for (let i = 0; i < size; i++) out[i] = { t: 0, id: firstId + i, m: 'inc', a: [1] };
  return out;
}

/** The callee's handler: a counter, the smallest handler that does anything. Returns the reply envelope `{t, id, v}`. */
export function createCounter() {
  let n = 0;
  return (env) => ({ t: 1, id: env.id, v: (n += env.a[0]) });
}

/**
 * msgpackr, with maps or with records (the record structure is written once per packed value).
 * msgpackr packs into a buffer it reuses, so results are copied out: `encode` into an ArrayBuffer of their
 * own (so it can be transferred), `encodeFrame` behind a u32 big-endian length prefix.
 */
export function createCodec(records) {
  const packr = new Packr({ useRecords: records });
  return {
    encode(value) {
      const packed = packr.pack(value);
      const out = new Uint8Array(packed.length);
      out.set(packed);
      return out;
    },
    encodeFrame(value) {
      return lengthPrefixed(packr.pack(value));
    },
    decode(bytes) {
      return packr.unpack(bytes);
    },
  };
}

/** `bytes` behind a u32 big-endian length prefix, in one buffer: a TCP frame. */
export function lengthPrefixed(bytes) {
  const frame = Buffer.allocUnsafe(4 + bytes.length);
  frame.writeUInt32BE(bytes.length, 0);
  frame.set(bytes, 4);
  return frame;
}

/** Splits a TCP byte stream into u32-length-prefixed frames. */
export class FrameReader {
  #pending = null;
  #onFrame;

  constructor(onFrame) {
    this.#onFrame = onFrame;
  }

  push(chunk) {
    const buf = this.#pending ? Buffer.concat([this.#pending, chunk]) : chunk;
    let off = 0;
    while (buf.length - off >= 4) {
      const len = buf.readUInt32BE(off);
      if (buf.length - off - 4 < len) break;
      this.#onFrame(buf.subarray(off + 4, off + 4 + len));
      off += 4 + len;
    }
    this.#pending = off < buf.length ? buf.subarray(off) : null;
  }
}
