/** Ordered replication vs the same workload through the unordered pooled path, side by side. */
import { startCluster } from '../../src/index.js';
import { differingKeys } from './history.js';
import type Primary from './primary.js';
import type Replica from './replica.js';
import type { Remote, WorkerApi } from '../../src/index.js';

export interface ReplicationOptions {
  writes?: number;
  replicas?: number;
  kind?: 'thread' | 'process';
  /** The replicas' module. The tests put a faulty replica here to show that the check can fail. @default ./replica */
  replica?: URL;
  /** The pool's tasks. The tests put failing ones here, to see the writes they lose reported. @default ./pool-tasks */
  poolTasks?: URL;
}

export interface ModeResult {
  mode: 'ordered' | 'pooled';
  writes: number;
  replicas: number;
  /** Writes the pool failed: the primary has them and no replica got them. Always 0 in the ordered mode. */
  lostWrites: number;
  /** Why the first of them to fail (the pool finishes in any order) was lost, if any was. */
  firstLoss?: string;
  /**
   * Replicas not in step with the primary: the writes they applied (seq, key and value) are not the
   * primary's history in its order, or the values they end with are not the primary's.
   */
  divergedReplicas: number;
  /** Writes applied after a write with a higher seq (overtaken on the way), summed over replicas. */
  overtakenWrites: number;
  /** Keys whose final value on a replica is not the primary's, summed over replicas (of min(writes, KEYS) keys per replica). */
  differingKeys: number;
  ms: number;
}

/** The keys the writes go to, in turn: `k0` to `k99`. */
export const KEYS = 100;

/** How long the replicas may make no progress before the run fails: a stall, not a long run. */
const STALL_MS = 30_000;

type PrimaryApi = Remote<WorkerApi<typeof Primary>>;
type ReplicaApi = Remote<WorkerApi<typeof Replica>>;
type PrimaryState = Awaited<ReturnType<PrimaryApi['state']>>;
type ReplicaState = Awaited<ReturnType<ReplicaApi['state']>>;

export async function runReplication({
  writes = 2000,
  replicas = 2,
  kind = 'thread',
  replica,
  poolTasks,
}: ReplicationOptions = {}): Promise<ModeResult[]> {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const here = (file: string): URL => new URL(`./${file}${ext}`, import.meta.url);
  await using cluster = await startCluster({
    workers: [
      { name: 'primary', module: here('primary'), kind: 'thread' },
      { name: 'replica', module: replica ?? here('replica'), kind, count: replicas },
    ],
    pool: { module: poolTasks ?? here('pool-tasks'), maxThreads: 2 },
  });
  const primary = cluster.worker<WorkerApi<typeof Primary>>('primary');
  const names = cluster.names.filter((n) => n.startsWith('replica'));
  const copies = names.map((n) => cluster.worker<WorkerApi<typeof Replica>>(n));
  const results: ModeResult[] = [];
  // The same replicas serve both modes, the ordered one first. Each is compared with the primary's whole
  // history and final values (the ordered writes before the pooled ones are in step); the writes counted
  // (lost, overtaken) are the mode's own.
  let before = await settled(primary, copies);
  for (const mode of ['ordered', 'pooled'] as const) {
    const started = performance.now();
    const base = before.primary.length;
    await Promise.all(Array.from({ length: writes }, (_, i) => primary.write(`k${i % KEYS}`, base + i, mode)));
    const after = await settled(primary, copies);
    results.push(modeResult(mode, writes, before, after, performance.now() - started));
    before = after;
  }
  return results;
}

interface Settled {
  primary: PrimaryState;
  replicas: ReplicaState[];
}

function modeResult(mode: ModeResult['mode'], writes: number, before: Settled, after: Settled, ms: number): ModeResult {
  const { primary, replicas } = after;
  const differing = replicas.map((r) => differingKeys(primary.store, r.store));
  const result: ModeResult = {
    mode,
    writes,
    replicas: replicas.length,
    lostWrites: primary.lost - before.primary.lost,
    divergedReplicas: replicas.filter((r, i) => r.digest !== primary.digest || differing[i]! > 0).length,
    overtakenWrites: replicas.reduce((sum, r, i) => sum + r.overtaken - before.replicas[i]!.overtaken, 0),
    differingKeys: differing.reduce((sum, n) => sum + n, 0),
    ms,
  };
  if (result.lostWrites > 0 && primary.firstLoss !== undefined) result.firstLoss = primary.firstLoss;
  return result;
}

/** Waits until the pool has settled every write and each replica has applied every write sent to it. */
function settled(primary: PrimaryApi, replicas: ReplicaApi[]): Promise<Settled> {
  return untilDone(async () => {
    const [p, states] = await Promise.all([primary.state(), Promise.all(replicas.map((r) => r.state()))]);
    const sent = p.length - p.lost;
    const behind = states.filter((s) => s.length < sent);
    const slowest = Math.min(...states.map((s) => s.length));
    return {
      done: p.inPool === 0 && behind.length === 0,
      // Moves one way while the run does: writes applied and writes lost go up, writes in the pool down.
      progress: states.reduce((sum, s) => sum + s.length, 0) + p.lost - p.inPool,
      value: { primary: p, replicas: states },
      waitingFor: `${behind.length} of ${states.length} replicas to apply ${sent} writes (the slowest at ${slowest}), ${p.inPool} writes in the pool`,
    };
  });
}

/** One look at a wait: is it over, how far it has come (any growth is progress), what it still waits for. */
export interface Look<T> {
  done: boolean;
  progress: number;
  value: T;
  waitingFor: string;
}

/**
 * Polls `look` until it is done, for as long as it makes progress: a big run takes the time it takes (the
 * pooled mode applies ~1-2k writes/s), and only a stall, no progress for `stallMs`, fails it.
 */
export async function untilDone<T>(look: () => Promise<Look<T>>, { stallMs = STALL_MS, pollMs = 20 } = {}): Promise<T> {
  let furthest = Number.NEGATIVE_INFINITY;
  let movedAt = performance.now();
  for (;;) {
    const { done, progress, value, waitingFor } = await look();
    if (done) return value;
    if (progress > furthest) {
      furthest = progress;
      movedAt = performance.now();
    } else if (performance.now() - movedAt > stallMs) {
      throw new Error(`No progress for ${stallMs / 1000} s, waiting for ${waitingFor}`);
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
