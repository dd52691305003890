// Why a frame read in place from a shared-memory ring is copied out before it is decoded (codec.ts,
// sourceFor): msgpackr's native string extractor refuses a SharedArrayBuffer, and its strings are then read
// in JS. A frame of `--messages` notifies (`inc(1)`, as convoy encodes them), decoded straight from a view
// into shared memory against copied into a Buffer first, in alternating windows:
//
//   node --import tsx bench/shm-decode.ts [--rounds 20] [--messages 500]

import { isNativeAccelerationEnabled } from 'msgpackr';
import { parseArgs } from 'node:util';
import { Encoder } from '../src/protocol/codec.js';
import { Kind } from '../src/protocol/messages.js';
import { Unpackr } from 'msgpackr';
import { alternate, spread } from './interleave.js';

const { values: args } = parseArgs({
  options: { rounds: { type: 'string', default: '20' }, messages: { type: 'string', default: '500' } },
});
const rounds = Number(args.rounds);
const messages = Number(args.messages);
const FRAMES = 400;

const encoder = new Encoder();
const parts = Array.from({ length: messages }, () => encoder.encode([Kind.Notify, 'inc', [1]]));
const length = parts.reduce((sum, part) => sum + part.byteLength, 0);
// The frame in shared memory, at an offset, as a ring record is.
const shared = new Uint8Array(new SharedArrayBuffer(length + 64), 16, length);
let at = 0;
for (const part of parts) {
  shared.set(part, at);
  at += part.byteLength;
}
// The codec's decoder options (codec.ts, OPTIONS and copyBuffers); records are on by default, as there.
const unpackr = new Unpackr({ moreTypes: true, copyBuffers: true });
let decoded = 0;

/** ns per message, decoding FRAMES frames in place or from a copy. */
async function window(copied: boolean): Promise<number> {
  const began = performance.now();
  for (let i = 0; i < FRAMES; i++) {
    unpackr.unpackMultiple(copied ? Buffer.from(shared) : shared, () => {
      decoded++;
    });
  }
  return ((performance.now() - began) * 1e6) / (FRAMES * messages);
}

const pairs = await alternate(
  () => window(false),
  () => window(true),
  rounds,
  3,
);
const inPlace = spread(pairs.map(([a]) => a));
const copied = spread(pairs.map(([, b]) => b));
const ratio = spread(pairs.map(([a, b]) => a / b));
console.log(
  `msgpackr native acceleration: ${isNativeAccelerationEnabled}; a frame of ${messages} notifies, ${length} bytes\n` +
    `in place ${inPlace.median.toFixed(0)} ns per message, copied out first ${copied.median.toFixed(0)} ns; ` +
    `in place / copied ${ratio.median.toFixed(2)} [${ratio.min.toFixed(2)}–${ratio.max.toFixed(2)}], ${rounds} pairs`,
);
if (decoded === 0) throw new Error('nothing decoded');
