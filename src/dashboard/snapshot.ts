/**
 * The JSON the dashboard serves (`GET /api/snapshot`, each `/events` message) and the page draws. A public
 * format: fields are only ever added. Rates are per second over `intervalMs`, the time since the reading
 * before; "coordinator" stands for the coordinator wherever a worker name is expected.
 */
import type { ClusterLogEvent } from '../cluster/event-log.js';

export const SNAPSHOT_VERSION = 1;

export interface DashboardSnapshot {
  version: typeof SNAPSHOT_VERSION;
  /** When this reading was taken, ms since the epoch. */
  at: number;
  /** The span the rates cover (ms); 0 on the first reading, which has no rates yet. */
  intervalMs: number;
  /** The pace the server reads at for this stream (ms); also what the page shows as its refresh. */
  refreshMs: number;
  /** The cluster has closed: this is its last state, and no more readings will come. */
  closed: boolean;
  cluster: ClusterSummary;
  coordinator: HealthRow;
  workers: WorkerRow[];
  /** Every open channel, per direction. */
  pairs: PairRow[];
  latency: { byMethod: LatencyRow[]; byPair: LatencyRow[] };
  /** Events after the ones the reader has seen, oldest first (all the kept ones for a new reader). */
  events: ClusterLogEvent[];
  /** The cluster's rates over time, oldest first: only in `/api/snapshot` and a stream's first message. */
  history?: HistoryPoint[];
}

export interface ClusterSummary {
  /** Workers by state: ready, starting, restarting, dead, closed. */
  workers: Record<string, number>;
  callsPerSec: number;
  notifiesPerSec: number;
  bytesPerSec: number;
  faultsPerSec: number;
  /** Since the cluster started (faults: since the dashboard started). */
  faults: number;
  deaths: number;
  restarts: number;
  /** The cluster's piscina pool (`startCluster({ pool })`); null without one. */
  pool: PoolRow | null;
}

export interface PoolRow {
  threads: number;
  /** Tasks waiting for a pool thread. */
  queued: number;
  /** Tasks done since the pool started. */
  completed: number;
  /** Tasks done a second since the previous reading (0 on the first). */
  tasksPerSec: number;
}

export interface HealthRow {
  /** Event-loop delay since the previous reading; null when unknown (first reading, no answer). */
  eventLoopDelayMs: { p50: number; p99: number; max: number } | null;
  heapUsedBytes: number | null;
}

export interface WorkerRow extends HealthRow {
  name: string;
  /** The spec it comes from: `shard` for `shard-0`..`shard-3`. */
  spec: string;
  kind: 'thread' | 'process';
  host: string;
  pid: number;
  threadId: number;
  state: string;
  incarnation: number;
  restarts: number;
  /** Whether it answered this reading (a ready worker that did not is busy or hung). */
  answered: boolean;
  /** Calls and notifies to and from it, per second. */
  callsInPerSec: number;
  callsOutPerSec: number;
  notifiesInPerSec: number;
  notifiesOutPerSec: number;
  /** Bytes it sent and received on all its channels, per second. */
  bytesPerSec: number;
  /** Calls it awaits, and bytes it has queued to send. */
  inFlight: number;
  queuedBytes: number;
}

/** One direction of a channel: totals since it opened, and gauges read on the sending side (null when read on the receiving side). */
export interface ChannelFigures {
  calls: number;
  notifies: number;
  faults: number;
  bytes: number;
  inFlight: number | null;
  queuedBytes: number | null;
  /** Messages waiting for room (backpressure). */
  waiting: number | null;
}

export interface PairRow extends ChannelFigures {
  from: string;
  to: string;
  /**
   * Calls from `from` to `to`. When `to` is the coordinator, read on its side: calls and notifies it
   * served (and no in-flight, queued or fault figures).
   */
  callsPerSec: number;
  notifiesPerSec: number;
  /** Calls that failed in the handler. */
  faultsPerSec: number;
  /** Every byte `from` sent `to` on this channel (its calls, notifies and replies), transferred buffers included. */
  bytesPerSec: number;
}

/** Call latency as callers see it, over the last few seconds (sampled calls; see docs/dashboard.md). */
export interface LatencyRow {
  method: string;
  /** Set in `byPair` rows. */
  caller?: string;
  callee?: string;
  callsPerSec: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface HistoryPoint {
  at: number;
  callsPerSec: number;
  notifiesPerSec: number;
  bytesPerSec: number;
  faultsPerSec: number;
  /** Worker exits since the point before. */
  deaths: number;
}
