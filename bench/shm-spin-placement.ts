// Where the kernel puts the two threads of a spinning shared-memory pair, and what that does to one call at
// a time between them (issue 14: thread↔thread p99 with `spinMicros`):
//
//   npm run build && node --import tsx bench/shm-spin-placement.ts [--rounds 10] [--calls 2000] [--spin 200]
//
// One cluster (`sharedMemory`, `spinMicros`), a caller and a callee thread of bench-worker.mjs. Each round
// runs one window of `calls` thread↔thread round trips per placement, the order rotating, with `taskset`
// moving the two threads between windows:
//
//   scheduler  both threads may run on every CPU this process may use (as in bench/shm.ts)
//   apart      the caller on one CPU, the callee on another
//   together   both on one CPU
//
// and, as the baseline, a raw MessagePort ping-pong between two other threads, placed by the scheduler.
//
// A spinning side holds its CPU for up to `spinMicros` waiting for the other; when the other side is
// queued on that same CPU it cannot answer until the spin ends. `apart` shows what the transport does when
// that cannot happen, `together` what it costs when it always does.
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { BenchApi } from './fixtures/bench-worker.mjs';
import { spread } from './interleave.js';
import { allowedCpus, cpuList, pinThread } from './pin.js';
import { startFloors } from './shm-floors.js';
import { benchWorker } from './worker-spec.mjs';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '10' },
    calls: { type: 'string', default: '2000' },
    spin: { type: 'string', default: '200' },
  },
});
const rounds = Number(args.rounds);
const calls = Number(args.calls);

const root = fileURLToPath(new URL('..', import.meta.url));
const index = path.join(root, 'dist/src/index.js');
const convoy = (await import(pathToFileURL(index).href)) as typeof import('../src/index.js');

const cpus = allowedCpus();
const [first, second] = cpuList(cpus);
if (second === undefined) throw new Error(`Two CPUs are needed to place the threads apart; this process may use ${cpus}`);

const cluster = await convoy.startCluster({
  sharedMemory: true,
  spinMicros: Number(args.spin),
  workers: [benchWorker('caller', index), benchWorker('callee', index)],
});
const caller = cluster.worker<BenchApi>('caller');
const callee = cluster.worker<BenchApi>('callee');
const threads = { caller: await caller.osThread(), callee: await callee.osThread() };
const floors = await startFloors();

const placements: Record<string, [string, string]> = {
  scheduler: [cpus, cpus],
  apart: [String(first), String(second)],
  together: [String(first), String(first)],
};
const names = [...Object.keys(placements), 'raw port'];
const results: Record<string, { p50: number[]; p99: number[] }> = Object.fromEntries(names.map((name) => [name, { p50: [], p99: [] }]));

console.log(
  `shm spin placement · spinMicros ${args.spin} · ${rounds} rounds of ${calls} calls · CPUs ${cpus} · load ${loadavg()[0]!.toFixed(1)}`,
);
try {
  // Warm-up: the JIT, and each side's spin budget, settle before anything is recorded.
  await caller.pingPeer('callee', calls);
  await floors.portPeerRtt(calls);
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(round + i) % names.length]!;
      const placement = placements[name];
      if (placement) {
        pinThread(threads.caller, placement[0]);
        pinThread(threads.callee, placement[1]);
      }
      const { p50, p99 } = placement ? await caller.pingPeer('callee', calls) : await floors.portPeerRtt(calls);
      results[name]!.p50.push(p50);
      results[name]!.p99.push(p99);
    }
  }
} finally {
  await cluster.close();
  await floors.close();
}

const show = (values: number[]): string => {
  const { median, min, max } = spread(values);
  return `${median.toFixed(1)} µs [${min.toFixed(1)}–${max.toFixed(1)}]`;
};
const raw = results['raw port']!;
for (const name of names) {
  const { p50, p99 } = results[name]!;
  // Per-round ratios: the windows of one round ran back to back.
  const ratio = (xs: number[], base: number[]) => spread(xs.map((x, i) => x / base[i]!)).median.toFixed(2);
  console.log(
    `${name.padEnd(10)} p50 ${show(p50).padEnd(26)} p99 ${show(p99).padEnd(28)} × raw p50 ${ratio(p50, raw.p50)}, p99 ${ratio(p99, raw.p99)}`,
  );
}
console.log(`load ${loadavg()[0]!.toFixed(1)} at the end`);
