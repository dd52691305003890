/** `cluster.stats()`: per worker (kind, pid, state, incarnation, restarts) and per channel counters. */
import { System } from '../protocol/control.js';
import { snapshot, type ChannelSnapshot } from '../rpc/endpoint-stats.js';
import type { Pool } from './pool.js';
import type { WorkerHandle } from './worker-handle.js';

export interface WorkerStats {
  name: string;
  kind: 'thread' | 'process';
  pid: number;
  threadId: number;
  state: string;
  incarnation: number;
  restarts: number;
  /** The coordinator's channel to this worker. */
  control: ChannelSnapshot | undefined;
  /** This worker's direct channels to its peers (empty if it did not answer in time). */
  peers: ChannelSnapshot[];
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
      let peers: ChannelSnapshot[] = [];
      if (handle.state === 'ready' && control && !control.closed) {
        peers = ((await control.call(System.stats, [], { timeoutMs: STATS_TIMEOUT_MS }).catch(() => [])) as ChannelSnapshot[]) ?? [];
      }
      return {
        name: handle.name,
        kind: handle.kind,
        pid: handle.started?.pid ?? 0,
        threadId: handle.started?.threadId ?? 0,
        state: handle.state,
        incarnation: handle.incarnation,
        restarts: handle.restarts,
        control: control ? snapshot(handle.name, control) : undefined,
        peers,
      };
    }),
  );
  return pool ? { workers, pool: pool.stats } : { workers };
}
