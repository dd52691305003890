/** `cluster.stats()`: per worker (kind, pid, state, incarnation, restarts) and per channel counters. */
import { System, type StatsAnswer } from '../protocol/control.js';
import type { Endpoint } from '../rpc/endpoint.js';
import { snapshot, type ChannelSnapshot } from '../rpc/endpoint-stats.js';
import type { ProcessHealth } from '../worker/process-health.js';
import type { Pool } from './pool.js';
import type { HandleState, WorkerHandle } from './worker-handle.js';

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
  /**
   * `dead` from the moment its calls fail, though its `worker-exit` comes a few ms later (once its exit and
   * last words are in), and `restarting` from that event if it restarts.
   */
  state: HandleState;
  incarnation: number;
  restarts: number;
  /** The coordinator's channel to this worker (frozen, as `peers` are). */
  control: ChannelSnapshot | undefined;
  /**
   * This worker's direct channels to its peers (empty if it did not answer in time). Snapshots are frozen:
   * a channel that has not changed since the previous reading is the same object again.
   */
  peers: ChannelSnapshot[];
  /** Event-loop delay and heap of its thread or process (absent if it did not answer in time). */
  process?: ProcessHealth;
}

export interface ClusterStats {
  workers: WorkerStats[];
  /** The pool's threads, its tasks waiting for one, and the tasks it has run (the user's: done or failed). */
  pool?: { threads: number; queued: number; completed: number };
}

const STATS_TIMEOUT_MS = 1000;

/** A worker's last answer, as composed here: what its next answer's unchanged channels refer to. */
interface HeldAnswer {
  answer: number;
  peers: Map<string, ChannelSnapshot>;
}

/** Per control channel, so a restarted worker (a new channel) starts again from a full answer. */
const held = new WeakMap<Endpoint, HeldAnswer>();

/** Asks a worker for its channels, naming the answer held, and completes what it sent as unchanged. */
async function askWorker(control: Endpoint): Promise<{ peers: ChannelSnapshot[]; process: ProcessHealth } | undefined> {
  const base = held.get(control);
  const answer = (await control.call(System.stats, base ? [base.answer] : [], { timeoutMs: STATS_TIMEOUT_MS }).catch(() => undefined)) as
    | StatsAnswer
    | undefined;
  if (!answer) return undefined;
  const peers: ChannelSnapshot[] = [];
  const byPeer = new Map<string, ChannelSnapshot>();
  for (const entry of answer.peers) {
    const channel = typeof entry === 'string' ? base?.peers.get(entry) : freezeSnapshot(entry);
    // A name with nothing held for it cannot happen unless the two sides disagree on which answer is
    // held: count the worker as not answering, and have its next answer sent in full.
    if (!channel) {
      held.delete(control);
      return undefined;
    }
    peers.push(channel);
    byPeer.set(channel.peer, channel);
  }
  // Two readings at once: the later answer is the one the worker remembers.
  if ((held.get(control)?.answer ?? 0) < answer.answer) held.set(control, { answer: answer.answer, peers: byPeer });
  return { peers, process: answer.process };
}

/** Readings share the snapshots of unchanged channels: none may be changed by whoever reads one. */
function freezeSnapshot(channel: ChannelSnapshot): ChannelSnapshot {
  for (const method of channel.latency) Object.freeze(Object.freeze(method).buckets);
  Object.freeze(channel.latency);
  return Object.freeze(channel);
}

export async function collectStats(handles: WorkerHandle[], pool: Pool | undefined): Promise<ClusterStats> {
  const workers = await Promise.all(
    handles.map(async (handle): Promise<WorkerStats> => {
      const control = handle.control;
      // A worker whose calls have failed is dead to whoever reads this, though its death's report waits for
      // its exit: it used to read `ready` for those few ms.
      const state = handle.dying ? 'dead' : handle.state;
      const answer = state === 'ready' && control && !control.closed ? await askWorker(control) : undefined;
      const stats: WorkerStats = {
        name: handle.name,
        spec: handle.spec.name,
        kind: handle.kind,
        pid: handle.started?.pid ?? 0,
        threadId: handle.started?.threadId ?? 0,
        state,
        incarnation: handle.incarnation,
        restarts: handle.restarts,
        control: control ? freezeSnapshot(snapshot(handle.name, control)) : undefined,
        peers: answer?.peers ?? [],
      };
      if (answer) stats.process = answer.process;
      if (handle.host !== undefined) stats.host = handle.host;
      return stats;
    }),
  );
  return pool ? { workers, pool: pool.stats } : { workers };
}
