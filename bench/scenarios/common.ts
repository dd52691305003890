// What convoy's scenarios share: the build under test, starting a cluster of bench workers, quick mode.

import type { Cluster, ClusterOptions, Remote, WorkerSpec } from '../../src/index.js';
import type { BenchApi } from '../fixtures/bench-worker.mjs';
import { INFLIGHT, callMany as callManyInFlight } from '../measure.js';
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
  mesh: `convoy whole-mesh calls/s, ${flavorLabel}`,
  memory: `convoy memory (heap, after full GC), ${flavorLabel}`,
  payload: `convoy one large argument per call, coordinator → thread (ms per call), ${flavorLabel}`,
} as const;

export type Kind = 'thread' | 'process';

/** One bench worker spec. */
export function spec(name: string, kind: Kind, extra: Partial<WorkerSpec> = {}): WorkerSpec {
  return { name, module: BENCH_WORKER, kind, ...extra };
}

/** Starts a cluster, once every cluster released with `shared` has finished closing (so none measures another's close). */
export async function start(workers: WorkerSpec[], options: Omit<ClusterOptions, 'workers'> = {}): Promise<Cluster> {
  await Promise.all(closing);
  return convoy.startCluster({ ...options, workers });
}

const closing = new Set<Promise<void>>();

/**
 * One cluster for consecutive scenarios (the pipelined, rtt and notify scenarios of one pair), to save
 * start-ups. `acquire()` starts it or takes the open one; `release()` closes it unless the next scenario
 * acquires it first: the close is deferred by one timer tick, and the runner goes from one scenario's
 * teardown to the next one's setup without giving timers a turn. A cluster whose close is pending is
 * closed before any other cluster starts (see `start`), and the last one closes right after the last
 * scenario, well before the runner's leak check.
 */
export function shared(open: () => Promise<Cluster>): { acquire(): Promise<Cluster>; release(): Promise<void> } {
  let cluster: Promise<Cluster> | undefined;
  let users = 0;
  let timer: NodeJS.Timeout | undefined;
  return {
    acquire() {
      clearTimeout(timer);
      timer = undefined;
      users++;
      cluster ??= open();
      return cluster;
    },
    async release() {
      if (--users > 0 || !cluster) return;
      const c = cluster;
      timer = setTimeout(() => {
        if (users > 0 || cluster !== c) return;
        cluster = undefined;
        const done = c.then((x) => x.close()).catch(() => {});
        closing.add(done);
        void done.finally(() => closing.delete(done));
      }, 0);
    },
  };
}

/** `n` workers named w0..w(n-1): threads, processes, or alternately thread and process (`mixed`). */
export function specs(n: number, kind: Kind | 'mixed'): WorkerSpec[] {
  return Array.from({ length: n }, (_, i) => spec(`w${i}`, kind === 'mixed' ? (i % 2 === 0 ? 'thread' : 'process') : kind));
}

export const MB = 2 ** 20;

/** Makes `count` calls with INFLIGHT in flight; resolves when all are answered. */
export function callMany(call: () => Promise<unknown>, count: number): Promise<void> {
  return callManyInFlight(call, count, INFLIGHT);
}

/**
 * Calls a new cluster makes before any window: in a freshly started worker V8 needs tens of thousands of
 * calls (seconds, on a loaded 2-core machine) before convoy's path runs optimised.
 */
export const WARM_CALLS = QUICK ? 10_000 : 50_000;

/**
 * Warms convoy's path to `callee`: WARM_CALLS calls from the coordinator, then as many from `caller`
 * (a worker calling its peer `callee`), in pipelined windows of 100 ms.
 */
export async function warmPath(callee: Remote<BenchApi>, caller?: Remote<BenchApi>): Promise<void> {
  await callMany(() => callee.inc(1), WARM_CALLS);
  if (caller) for (let made = 0; made < WARM_CALLS; ) made += ((await caller.benchPeer('callee', 100, INFLIGHT)) * 100) / 1000;
}

/**
 * Warms convoy's path to `callee` without a flood: WARM_CALLS calls from the coordinator one at a time, then
 * as many from `caller` to its peer `callee`. For the calls suites, whose one-at-a-time comparisons come
 * first: a flood would leave the processes' young generation grown (suites/calls.ts, `oneAtATimeFirst`).
 */
export async function warmOneAtATime(callee: Remote<BenchApi>, caller?: Remote<BenchApi>): Promise<void> {
  for (let i = 0; i < WARM_CALLS; i++) await callee.inc(1);
  if (caller) await caller.pingPeer('callee', WARM_CALLS);
}
