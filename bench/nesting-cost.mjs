// What the nesting bound (src/protocol/nesting.ts) costs, interleaved: windows alternate, order swapped
// every pair, in one process; prints medians and the median of per-pair ratios, with the 1-minute load.
//   1. the codec: encoding a 10 000-object message (which is walked, being over 1 000 bytes) against
//      msgpackr packing it with the same options and no walk;
//   2. the pool: cloneProblem on a million-object result against structuredClone of it (the clone the
//      check guards).
//
//   npm run build && node bench/nesting-cost.mjs [pairs=11]
import { loadavg } from 'node:os';
import { Packr } from 'msgpackr';

const core = await import(new URL('../dist/bundle/core.js', import.meta.url).href);
const { Encoder, MAX_NESTING_DEPTH, cloneProblem } = core;
const pairs = Number(process.argv[2] ?? 11);

const message = [0, 1, 'inc', [Array.from({ length: 10_000 }, (_, i) => ({ a: i, b: 'x', c: [1, 2] }))]];
const encoder = new Encoder();
const packr = new Packr({ moreTypes: true, useRecords: () => true });
const result = Array.from({ length: 1_000_000 }, (_, i) => ({ i }));

/** ms per run of `fn`, over `runs` runs. */
function window(fn, runs) {
  const started = performance.now();
  for (let i = 0; i < runs; i++) fn();
  return (performance.now() - started) / runs;
}

const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
function compare(name, subject, baseline, runs) {
  window(subject, runs);
  window(baseline, runs);
  const rows = [];
  for (let i = 0; i < pairs; i++) {
    const row = {};
    for (const arm of i % 2 ? ['baseline', 'subject'] : ['subject', 'baseline'])
      row[arm] = window(arm === 'subject' ? subject : baseline, runs);
    rows.push(row);
  }
  const ratios = rows.map((row) => row.subject / row.baseline);
  console.log(
    `${name}: ${median(rows.map((r) => r.subject)).toFixed(3)} ms vs ${median(rows.map((r) => r.baseline)).toFixed(3)} ms; ` +
      `ratio ${median(ratios).toFixed(2)}× (range ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`,
  );
}

console.log(`${pairs} pairs, 1-minute load ${loadavg()[0].toFixed(1)}`);
compare(
  'encode 10 000 objects, with the walk vs msgpackr alone',
  () => encoder.encode(message),
  () => packr.pack(message),
  50,
);
compare(
  'cloneProblem on 1 000 000 objects vs structuredClone of them',
  () => cloneProblem(result, MAX_NESTING_DEPTH),
  () => structuredClone(result),
  1,
);
