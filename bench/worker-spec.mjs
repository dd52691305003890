// The worker the shared-memory tools start: bench/fixtures/bench-worker.mjs of this checkout, loading the
// convoy build at `index` (a file path) through CONVOY_BENCH_INDEX, as the bench's own scenarios do
// (scenarios/convoy.ts). Plain .mjs so that tools run without tsx can use it.
const BENCH_WORKER = new URL('./fixtures/bench-worker.mjs', import.meta.url);

export function benchWorker(name, index) {
  return { name, module: BENCH_WORKER, env: { CONVOY_BENCH_INDEX: index } };
}
