/** Ordered replication vs the same workload through the unordered pooled path, side by side. */
import { startCluster } from '../../src/index.js';
import type Primary from './primary.js';
import type Replica from './replica.js';
import type { WorkerApi } from '../../src/index.js';

export interface ReplicationOptions {
  writes?: number;
  replicas?: number;
  kind?: 'thread' | 'process';
}

export interface ModeResult {
  mode: 'ordered' | 'pooled';
  writes: number;
  /** Replicas whose history is not a prefix of the primary's. */
  divergedReplicas: number;
  /** Writes a replica received out of sequence, summed over replicas. */
  outOfOrder: number;
  ms: number;
}

export async function runReplication({ writes = 2000, replicas = 2, kind = 'thread' }: ReplicationOptions = {}): Promise<ModeResult[]> {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const here = (file: string): URL => new URL(`./${file}${ext}`, import.meta.url);
  await using cluster = await startCluster({
    workers: [
      { name: 'primary', module: here('primary'), kind: 'thread' },
      { name: 'replica', module: here('replica'), kind, count: replicas },
    ],
    pool: { module: here('pool-tasks'), maxThreads: 2 },
  });
  const primary = cluster.worker<WorkerApi<typeof Primary>>('primary');
  const results: ModeResult[] = [];
  for (const mode of ['ordered', 'pooled'] as const) {
    // Fresh replicas for each mode: restart is not needed, each mode uses its own key space and we
    // compare only the writes of this mode, so run the ordered mode first on empty replicas.
    const started = performance.now();
    const base = await primary.length();
    await Promise.all(Array.from({ length: writes }, (_, i) => primary.write(`k${i % 100}`, base + i, mode)));
    const names = cluster.names.filter((n) => n.startsWith('replica'));
    const states = await waitForApplied(
      names.map((n) => cluster.worker<WorkerApi<typeof Replica>>(n)),
      base + writes,
    );
    const ms = performance.now() - started;
    results.push({
      mode,
      writes,
      divergedReplicas: states.filter((s) => !s.prefix).length,
      outOfOrder: states.reduce((sum, s) => sum + s.outOfOrder, 0) - results.reduce((sum, r) => sum + r.outOfOrder, 0),
      ms,
    });
  }
  return results;
}

type ReplicaState = { applied: number; outOfOrder: number; prefix: boolean };

/** Polls until every replica has applied `count` writes (bounded: 30 s). */
async function waitForApplied(replicas: { state(): Promise<ReplicaState> }[], count: number): Promise<ReplicaState[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const states = await Promise.all(replicas.map((r) => r.state()));
    if (states.every((s) => s.applied >= count)) return states;
    if (Date.now() > deadline) throw new Error(`Replicas did not apply ${count} writes within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
