/** `cluster.stats()`: per worker (kind, pid, state, incarnation, restarts) and per channel counters. */
import { System, type StatsAnswer } from '../protocol/control.js';
import { snapshot, type ChannelSnapshot } from '../rpc/endpoint-stats.js';
import type { ProcessHealth } from '../worker/process-health.js';
import type { Pool } from './pool.js';
import type { WorkerHandle } from './worker-handle.js';

export interface WorkerStats {
  name: string;
  /** The name of the spec it comes from (`shard` for `shard-0`..`shard-3`). */
  spec: string;
  kind: 'thread' | 'process';
  /** The agent's host it runs on (`WorkerSpec.host`); absent on the coordinator's own host. */
  host?: string;
  /** Its pid (on its host). */
  pid: number;
  threadId: number;
  state: string;
  incarnation: number;
  restarts: number;
  /** The coordinator's channel to this worker. */
  control: ChannelSnapshot | undefined;
  /** This worker's direct channels to its peers (empty if it did not answer in time). */
  peers: ChannelSnapshot[];
  /** Event-loop delay and heap of its thread or process (absent if it did not answer in time). */
  process?: ProcessHealth;
}

export interface ClusterStats {
  workers: WorkerStats[];
  pool?: { threads: number; queued: number; completed: number };
}

const STATS_TIMEOUT_MS = 1000;

export async function collectStats(handles: WorkerHandle[], pool: Pool | undefined): Promise<ClusterStats> {
  const workers = await Promise.all(
    handles.map(async (handle): Promise<WorkerStats> => {
      const control = handle.control;
      let answer: StatsAnswer | undefined;
      if (handle.state === 'ready' && control && !control.closed) {
        answer = (await control.call(System.stats, [], { timeoutMs: STATS_TIMEOUT_MS }).catch(() => undefined)) as StatsAnswer | undefined;
      }
      const stats: WorkerStats = {
        name: handle.name,
        spec: handle.spec.name,
        kind: handle.kind,
        pid: handle.started?.pid ?? 0,
        threadId: handle.started?.threadId ?? 0,
        state: handle.state,
        incarnation: handle.incarnation,
        restarts: handle.restarts,
        control: control ? snapshot(handle.name, control) : undefined,
        peers: answer?.peers ?? [],
      };
      if (answer) stats.process = answer.process;
      if (handle.host !== undefined) stats.host = handle.host;
      return stats;
    }),
  );
  return pool ? { workers, pool: pool.stats } : { workers };
}
