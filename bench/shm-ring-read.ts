// What a ring record costs to write and read in one thread, with no wake and no event loop: read in
// place (`read()` + `release()`, what the transport does) against copied out (`take()`), interleaved:
//
//   node --import tsx bench/shm-ring-read.ts [--rounds 30]

import { parseArgs } from 'node:util';
import { RingReader, RingWriter, createRingBuffer } from '../src/transport/shm-ring.js';
import { spread } from './interleave.js';

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '30' } } });
const rounds = Number(args.rounds);
const RECORDS = 20_000;

const ring = createRingBuffer(256 * 1024);
const writer = new RingWriter(ring);
const reader = new RingReader(ring);
let checksum = 0;

/** ns per record written and read, copied out or read in place. */
function window(bytes: number, copied: boolean): number {
  const payload = new Uint8Array(bytes).fill(7);
  const began = performance.now();
  for (let i = 0; i < RECORDS; i++) {
    writer.tryWrite(payload, i);
    reader.peek();
    if (copied) checksum += reader.take()[bytes - 1]!;
    else {
      checksum += reader.read()[bytes - 1]!;
      reader.release();
    }
  }
  return ((performance.now() - began) * 1e6) / RECORDS;
}

for (const bytes of [64, 512, 4096]) {
  for (let i = 0; i < 3; i++) {
    window(bytes, true);
    window(bytes, false);
  }
  const pairs: [number, number][] = [];
  for (let round = 0; round < rounds; round++) {
    // The order alternates, so the machine's drift hits both alike.
    const first = window(bytes, round % 2 === 0);
    const second = window(bytes, round % 2 !== 0);
    pairs.push(round % 2 === 0 ? [first, second] : [second, first]);
  }
  const ratio = spread(pairs.map(([copied, inPlace]) => copied / inPlace));
  console.log(
    `${bytes} B: copied ${spread(pairs.map(([c]) => c)).median.toFixed(0)} ns, in place ${spread(pairs.map(([, p]) => p)).median.toFixed(0)} ns` +
      `; copied/in place ${ratio.median.toFixed(2)} [${ratio.min.toFixed(2)}–${ratio.max.toFixed(2)}]`,
  );
}
if (checksum === 0) throw new Error('nothing read');
