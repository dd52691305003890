/** bench/fixtures/bench-worker.mjs as worker `name`, loading the convoy build at `index` (see worker-spec.mjs). */
export function benchWorker(name: string, index: string): { name: string; module: URL; env: { CONVOY_BENCH_INDEX: string } };
