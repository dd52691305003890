// One call at a time from the coordinator to a worker process, against the same from a worker process to
// its peer, in a small process of its own (no other clusters, no raw hosts, no bench harness): windows
// alternate, and the report is each side's median p50 and the median of per-round ratios. Says whether the
// coordinator's end of a channel costs more than a worker's (docs/benchmarks.md, "One call at a time, coordinator ↔ process").
//
//   npm run build && taskset -c 0 node bench/coord-vs-peer-rtt.mjs [rounds=10] [calls=3000]
import { startCluster } from '../dist/bundle/convoy.js';
import { roundTrips } from './loops.mjs';

const rounds = Number(process.argv[2] ?? 10);
const calls = Number(process.argv[3] ?? 3000);
// The bench worker imports convoy's worker entry from here (inherited by the worker processes).
process.env.CONVOY_BENCH_WORKER_INDEX ??= new URL('../dist/bundle/worker.js', import.meta.url).href;
const module = new URL('./fixtures/bench-worker.mjs', import.meta.url);
const cluster = await startCluster({
  workers: [
    { name: 'caller', module, kind: 'process' },
    { name: 'callee', module, kind: 'process' },
  ],
});
try {
  const callee = cluster.worker('callee');
  const caller = cluster.worker('caller');
  await caller.pingPeer('callee', calls);
  await roundTrips(() => callee.inc(1), calls);
  const coord = [];
  const peer = [];
  for (let round = 0; round < rounds; round++) {
    // The order alternates, so that neither side always runs right after the other.
    if (round % 2 === 0) coord.push((await roundTrips(() => callee.inc(1), calls)).p50);
    peer.push((await caller.pingPeer('callee', calls)).p50);
    if (round % 2 === 1) coord.push((await roundTrips(() => callee.inc(1), calls)).p50);
  }
  const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
  const ratios = coord.map((value, i) => value / peer[i]);
  console.log(
    `coordinator → process p50 ${median(coord).toFixed(1)} µs, process → process ${median(peer).toFixed(1)} µs; ` +
      `per-round ratio median ${median(ratios).toFixed(3)} (${Math.min(...ratios).toFixed(2)} – ${Math.max(...ratios).toFixed(2)}), ${rounds} rounds of ${calls} calls`,
  );
} finally {
  await cluster.close();
}
