/**
 * Helpers for the cluster tests: deadlines instead of sleeps, fixture paths, and checks that no
 * process was left behind.
 */
import { readFileSync } from 'node:fs';
import type { ExecutionContext } from 'ava';
import {
  notify,
  startCluster,
  type Cluster,
  type ClusterEvents,
  type ClusterOptions,
  type ClusterStats,
  type Remote,
  type WorkerExitEvent,
} from '../../src/index.js';

import { processes } from '../../bench/procfs.mjs';
import type { RemoteCounter } from '../fixtures/counter.js';
import { DeadlineError, handled, withDeadline as within } from './deadline.js';
import { fixture } from './repo.js';

/** The one deadline helper (test/helpers/deadline.ts), under the name the cluster tests use. */
export { DeadlineError, handled, within };

/**
 * How threads' channels travel, for the suites that run over each: the MessagePort alone, or
 * shared-memory rings beside it (`sharedMemory`).
 */
export const THREAD_TRANSPORTS = [
  { label: 'port', options: {} },
  { label: 'shm', options: { sharedMemory: true } },
] as const satisfies readonly { label: string; options: Partial<ClusterOptions> }[];

/** How a promise settled and when (ms since `since`), without leaving a rejection unhandled. */
export type Settled<T> = { ok: true; value: T; at: number } | { ok: false; error: unknown; at: number };

export function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ ok: true as const, value, at: performance.now() }),
    (error: unknown) => ({ ok: false as const, error, at: performance.now() }),
  );
}

/** The rejection of `promise` within `ms` (fails if it resolves or stays pending). */
export async function rejection(promise: Promise<unknown>, ms: number, what: string): Promise<unknown> {
  const result = await within(settle(promise), ms, what);
  if (result.ok) throw new Error(`${what}: expected a rejection, got ${JSON.stringify(result.value)}`);
  return result.error;
}

/** Polls `check` every `everyMs` until it returns true, failing after `ms`: only for states with no event (a pid vanishing). */
export async function pollUntil(check: () => boolean | Promise<boolean>, ms: number, what: string, everyMs = 25): Promise<void> {
  const end = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > end) throw new DeadlineError(`${what}: not true within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Whether no channel in `stats` has a call in flight, a byte queued or a message waiting. */
export function channelsAtRest(stats: ClusterStats): boolean {
  const idle = (c: { inFlight: number; queuedBytes: number; waiting: number } | undefined) =>
    !c || (c.inFlight === 0 && c.queuedBytes === 0 && c.waiting === 0);
  return stats.workers.every((w) => idle(w.control) && w.peers.every(idle));
}

/**
 * `cluster.stats()` once every channel is at rest, or the last reading after `ms`. The counters are gauges:
 * a heartbeat ping sits in a batch for up to a turn, so one reading can catch it; a leak stays put.
 */
export async function statsAtRest(cluster: Cluster, ms: number, everyMs = 10): Promise<ClusterStats> {
  const end = performance.now() + ms;
  for (;;) {
    const stats = await cluster.stats();
    if (channelsAtRest(stats) || performance.now() > end) return stats;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** A fixture module's file URL (test/helpers/repo.ts). */
export { fixture };

/**
 * Whether process `pid` still runs. `process.kill(pid, 0)` alone also succeeds for a zombie (exited,
 * not yet reaped — an orphan waits for init to reap it), so on Linux a zombie counts as gone.
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but is not ours; only ESRCH means gone.
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Live (not zombie) convoy worker processes whose parent is `parent`, from /proc (Linux). Other
 * children, such as the esbuild service tsx starts, are not counted.
 */
export function workerProcessPids(parent = process.pid): number[] {
  return childPids(parent).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('workers/process.js');
    } catch {
      return false;
    }
  });
}

/** Live (not zombie) child processes of `parent`, from /proc (Linux). */
export function childPids(parent = process.pid): number[] {
  return processes()
    .filter((p) => p.ppid === parent && p.state !== 'Z')
    .map((p) => p.pid);
}

/** Closes the cluster when the test ends, whatever happened. */
export function closeOnTeardown(t: ExecutionContext, cluster: Cluster): Cluster {
  t.teardown(() => cluster.close());
  return cluster;
}

/**
 * Starts a cluster that is closed when the test ends — even when the test gave up waiting for it: the
 * teardown waits for the start to settle (bounded by startTimeoutMs) and closes what it produced.
 */
export async function startFor(t: ExecutionContext, options: ClusterOptions, ms = 40_000): Promise<Cluster> {
  const starting = startCluster(options);
  t.teardown(async () => {
    const cluster = await starting.catch(() => undefined);
    await cluster?.close();
  });
  return within(starting, ms, `startCluster(${(options.workers ?? []).map((w) => w.name).join(', ')})`);
}

/** The events of a cluster that name a worker and an incarnation. */
type WorkerEventName = 'worker-exit' | 'worker-restart';
type WorkerEventOf<E extends WorkerEventName> = ClusterEvents[E][0];

/** Records every `event`; `nth(name, n, ms)` waits for the n-th one (1-based) of a worker. */
export function eventLog<E extends WorkerEventName>(
  cluster: Cluster,
  event: E,
): { events: WorkerEventOf<E>[]; nth(name: string, n: number, ms: number): Promise<WorkerEventOf<E>> } {
  const events: WorkerEventOf<E>[] = [];
  const waiters = new Set<() => void>();
  // EventEmitter's typing cannot follow a generic event name; the listener's type is right by construction.
  const on = cluster.on.bind(cluster) as (event: E, listener: (e: WorkerEventOf<E>) => void) => unknown;
  on(event, (e) => {
    events.push(e);
    for (const wake of waiters) wake();
  });
  const find = (name: string, n: number) => events.filter((e) => e.name === name)[n - 1];
  return {
    events,
    nth(name, n, ms) {
      const found = find(name, n);
      if (found) return Promise.resolve(found);
      let wake!: () => void;
      const waiting = new Promise<WorkerEventOf<E>>((resolve) => {
        wake = () => {
          const e = find(name, n);
          if (e) resolve(e);
        };
        waiters.add(wake);
      });
      return within(waiting, ms, `${event} #${n} of "${name}"`).finally(() => waiters.delete(wake));
    },
  };
}

/** Records every 'worker-exit' event; `nth(name, n, ms)` waits for the n-th one (1-based) of a worker. */
export function exitLog(cluster: Cluster): {
  events: WorkerExitEvent[];
  nth(name: string, n: number, ms: number): Promise<WorkerExitEvent>;
} {
  return eventLog(cluster, 'worker-exit');
}

/**
 * The coordinator's side of the counter fixture's `sendMixed`: `count` messages `record('coordinator', seq)`
 * to `remote`, calls and notifies alternating, waiting for the calls in flight every 1000 of them.
 */
export async function sendMixedFromCoordinator(remote: Remote<RemoteCounter>, count: number): Promise<void> {
  let inFlight: Promise<unknown>[] = [];
  for (let seq = 0; seq < count; seq++) {
    if (seq % 2 === 0) inFlight.push(remote.record('coordinator', seq));
    else void notify(remote).record('coordinator', seq);
    if (inFlight.length === 1000) {
      await Promise.all(inFlight);
      inFlight = [];
    }
  }
  await Promise.all(inFlight);
}
