// What convoy's scenarios share: the build under test, starting a cluster of bench workers, quick mode.

import type { Cluster, ClusterOptions, WorkerSpec } from '../../src/index.js';
import { BENCH_WORKER, convoy, flavorLabel } from './convoy.js';

export { convoy, flavor, flavorLabel, flavorNote } from './convoy.js';
export type { BenchApi, Latency, PeerHoldResult } from '../fixtures/bench-worker.mjs';

/**
 * `--quick`, known when the scenario list is built: a few scenarios are left out of quick runs (32-worker
 * start-up, the bigger meshes, the hang of a process) so that `npm run bench -- --quick` stays short.
 * Repetitions see it as `opts.quick`.
 */
export const QUICK = process.argv.includes('--quick');

export const GROUPS = {
  calls: `convoy calls, ${flavorLabel}`,
  notify: `convoy notify, ${flavorLabel}`,
  death: `convoy death (time until the last in-flight call is rejected), ${flavorLabel}`,
  start: `convoy startCluster(), ${flavorLabel}`,
  mesh: `convoy whole-mesh calls/s, ${flavorLabel}`,
  memory: `convoy memory (heap, after full GC), ${flavorLabel}`,
} as const;

export type Kind = 'thread' | 'process';

/** One bench worker spec. */
export function spec(name: string, kind: Kind, extra: Partial<WorkerSpec> = {}): WorkerSpec {
  return { name, module: BENCH_WORKER, kind, ...extra };
}

export function start(workers: WorkerSpec[], options: Omit<ClusterOptions, 'workers'> = {}): Promise<Cluster> {
  return convoy.startCluster({ ...options, workers });
}

/** `n` workers named w0..w(n-1): threads, processes, or alternately thread and process (`mixed`). */
export function specs(n: number, kind: Kind | 'mixed'): WorkerSpec[] {
  return Array.from({ length: n }, (_, i) => spec(`w${i}`, kind === 'mixed' ? (i % 2 === 0 ? 'thread' : 'process') : kind));
}

export const MB = 2 ** 20;
