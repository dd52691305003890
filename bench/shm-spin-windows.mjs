// The tail of one call at a time over spinning shared-memory rings, window by window (issue 14: p99 with
// `spinMicros`). Each window of `--calls` round trips follows `--idle-ms` of idling, as a window of
// bench/shm.ts does, so it starts with both threads asleep and shows how the pair recovers from where
// the kernel woke them (README, "Shared memory between threads"). Prints, per window, p50, p99 and the mean
// (the window's time per call) in µs and, coordinator ↔ thread, how many calls took over `--slow-us`; then
// the median and range over windows of p99 and of the mean.
//
//   npm run build && node bench/shm-spin-windows.mjs [--pair coord-thread|thread-thread] [--windows 8]
//        [--calls 2000] [--idle-ms 200] [--spin 200] [--slow-us 60] [--build dist]
//
// `--build` names another compiled convoy (a `dist/` directory inside this repository, so that its imports
// resolve; e.g. an older commit's `npm run build` output copied to scratch/old/dist, with scratch/old/workers
// linked to ../../workers): run the two builds one after the other, several times, to compare them.
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
    build: { type: 'string', default: 'dist' },
  },
});
if (!['coord-thread', 'thread-thread'].includes(args.pair)) throw new Error(`--pair: coord-thread or thread-thread, got ${args.pair}`);
const [windows, calls, idleMs, slowUs] = [args.windows, args.calls, args['idle-ms'], args['slow-us']].map(Number);

const root = fileURLToPath(new URL('..', import.meta.url));
const index = path.resolve(root, args.build, 'src/index.js');
const convoy = await import(pathToFileURL(index).href);
const cluster = await convoy.startCluster({
  sharedMemory: true,
  spinMicros: Number(args.spin),
  workers: [benchWorker('a', index), benchWorker('b', index)],
});
const a = cluster.worker('a');

/** Every round trip's µs, coordinator → a. */
async function timed(count) {
  const us = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await a.inc(1);
    us[i] = (performance.now() - t0) * 1000;
  }
  return us;
}
const rank = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

if (args.pair === 'coord-thread') await timed(20_000);
else await a.pingPeer('b', 20_000, 0);
console.log(`${args.pair}, spinMicros ${args.spin}, ${windows} windows of ${calls} calls after ${idleMs} ms idle, build ${args.build}`);
const p99s = [];
const means = [];
for (let w = 0; w < windows; w++) {
  await new Promise((resolve) => setTimeout(resolve, idleMs));
  const started = performance.now();
  if (args.pair === 'coord-thread') {
    const us = await timed(calls);
    const mean = ((performance.now() - started) * 1000) / calls;
    const slow = us.reduce((n, v) => n + (v > slowUs ? 1 : 0), 0);
    const sorted = us.slice().sort();
    p99s.push(rank(sorted, 0.99));
    means.push(mean);
    console.log(
      `window ${w}: p50 ${rank(sorted, 0.5).toFixed(1)} µs, p99 ${rank(sorted, 0.99).toFixed(0)} µs, mean ${mean.toFixed(1)} µs, ` +
        `${slow} calls over ${slowUs} µs`,
    );
  } else {
    const { p50, p99 } = await a.pingPeer('b', calls, 0);
    const mean = ((performance.now() - started) * 1000) / calls;
    p99s.push(p99);
    means.push(mean);
    console.log(`window ${w}: p50 ${p50.toFixed(1)} µs, p99 ${p99.toFixed(0)} µs, mean ${mean.toFixed(1)} µs`);
  }
}
p99s.sort((x, y) => x - y);
means.sort((x, y) => x - y);
console.log(
  `over windows: p99 median ${rank(p99s, 0.5).toFixed(0)} µs (${p99s[0].toFixed(0)}–${p99s.at(-1).toFixed(0)}), ` +
    `mean median ${rank(means, 0.5).toFixed(1)} µs (${means[0].toFixed(1)}–${means.at(-1).toFixed(1)})`,
);
await cluster.close();
