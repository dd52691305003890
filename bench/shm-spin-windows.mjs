// The tail of one call at a time over spinning shared-memory rings, window by window (issue 14: p99 with
// `spinMicros`). Each window of `--calls` round trips follows `--idle-ms` of idling, as a window of
// bench/shm.ts does, so it starts with both threads asleep and shows how the pair recovers from where
// the kernel woke them (docs/shared-memory.md, "Against the targets"). Prints, per window, p50, p99 and the mean
// (the window's time per call) in µs and, coordinator ↔ thread, how many calls took over `--slow-us`; then,
// per build, the median and range over windows of p99 and of the mean.
//
//   npm run build && node bench/shm-spin-windows.mjs [--pair coord-thread|thread-thread] [--windows 8]
//        [--calls 2000] [--idle-ms 200] [--spin 200] [--slow-us 60] [--build dist [--build other/dist]]
//
// `--build` names a compiled convoy (a `dist/` directory inside this repository, so that its imports
// resolve; e.g. an older commit's `npm run build` output copied to scratch/old/dist, with scratch/old/workers
// linked to ../../workers). Given twice, both builds' clusters run in this process and take turns, a window
// each per round in alternating order, and the medians of the per-round ratios (second build ÷ first) of
// p99 and of the mean are printed with their range.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { benchWorker } from './worker-spec.mjs';

const { values: args } = parseArgs({
  options: {
    pair: { type: 'string', default: 'coord-thread' },
    windows: { type: 'string', default: '8' },
    calls: { type: 'string', default: '2000' },
    'idle-ms': { type: 'string', default: '200' },
    spin: { type: 'string', default: '200' },
    'slow-us': { type: 'string', default: '60' },
    build: { type: 'string', multiple: true, default: ['dist'] },
  },
});
if (!['coord-thread', 'thread-thread'].includes(args.pair)) throw new Error(`--pair: coord-thread or thread-thread, got ${args.pair}`);
if (args.build.length > 2) throw new Error(`--build: one or two builds, got ${args.build.length}`);
const [windows, calls, idleMs, slowUs] = [args.windows, args.calls, args['idle-ms'], args['slow-us']].map(Number);
const root = fileURLToPath(new URL('..', import.meta.url));
const rank = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const median = (values) =>
  rank(
    [...values].sort((x, y) => x - y),
    0.5,
  );
const range = (values, digits) => `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`;

/** A cluster of two bench workers on `build`, and one window of it: p50, p99, mean (µs) and slow calls. */
async function openBuild(build) {
  const index = path.resolve(root, build, 'src/index.js');
  const convoy = await import(pathToFileURL(index).href);
  const cluster = await convoy.startCluster({
    sharedMemory: true,
    spinMicros: Number(args.spin),
    workers: [benchWorker('a', index), benchWorker('b', index)],
  });
  const a = cluster.worker('a');
  /** Every round trip's µs, coordinator → a. */
  const timed = async (count) => {
    const us = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      await a.inc(1);
      us[i] = (performance.now() - t0) * 1000;
    }
    return us;
  };
  const window = async (count) => {
    const started = performance.now();
    if (args.pair === 'thread-thread') {
      const { p50, p99 } = await a.pingPeer('b', count, 0);
      return { p50, p99, mean: ((performance.now() - started) * 1000) / count };
    }
    const us = await timed(count);
    const mean = ((performance.now() - started) * 1000) / count;
    const sorted = us.slice().sort();
    const slow = us.reduce((n, v) => n + (v > slowUs ? 1 : 0), 0);
    return { p50: rank(sorted, 0.5), p99: rank(sorted, 0.99), mean, slow };
  };
  return { build, window, close: () => cluster.close(), results: [] };
}

const arms = [];
for (const build of args.build) arms.push(await openBuild(build));
for (const arm of arms) await arm.window(20_000);
console.log(
  `${args.pair}, spinMicros ${args.spin}, ${windows} windows of ${calls} calls after ${idleMs} ms idle, builds ${args.build.join(', ')}`,
);
for (let w = 0; w < windows; w++) {
  for (const arm of w % 2 === 0 ? arms : [...arms].reverse()) {
    await new Promise((resolve) => setTimeout(resolve, idleMs));
    const r = await arm.window(calls);
    arm.results.push(r);
    console.log(
      `window ${w} ${arm.build}: p50 ${r.p50.toFixed(1)} µs, p99 ${r.p99.toFixed(0)} µs, mean ${r.mean.toFixed(1)} µs` +
        (r.slow === undefined ? '' : `, ${r.slow} calls over ${slowUs} µs`),
    );
  }
}
for (const { build, results } of arms) {
  const [p99s, means] = [results.map((r) => r.p99), results.map((r) => r.mean)];
  const slow = results[0].slow === undefined ? '' : `, calls over ${slowUs} µs median ${median(results.map((r) => r.slow))}`;
  console.log(
    `${build} over windows: p99 median ${median(p99s).toFixed(0)} µs (${range(p99s, 0)}), ` +
      `mean median ${median(means).toFixed(1)} µs (${range(means, 1)})${slow}`,
  );
}
if (arms.length === 2) {
  const ratios = (key) => arms[1].results.map((r, w) => r[key] / arms[0].results[w][key]);
  const [p99, mean] = [ratios('p99'), ratios('mean')];
  console.log(
    `${arms[1].build} ÷ ${arms[0].build}, medians of per-round ratios: p99 ${median(p99).toFixed(2)}× (${range(p99, 2)}), ` +
      `mean ${median(mean).toFixed(2)}× (${range(mean, 2)})`,
  );
}
for (const arm of arms) await arm.close();
