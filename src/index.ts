// convoy: ordered, batched, awaited calls between worker threads and processes.

// --- For users -------------------------------------------------------------------------------------
export { startCluster, Cluster } from './cluster/cluster.js';
export type {
  ClusterOptions,
  WorkerSpec,
  PoolSpec,
  ClusterEvents,
  WorkerExitEvent,
  WorkerReadyEvent,
  WorkerRestartEvent,
} from './cluster/types.js';
export type { ClusterStats, WorkerStats } from './cluster/stats.js';
export type { HandleState as WorkerState } from './cluster/worker-handle.js';
export type { WorkerKind } from './protocol/control.js';
export type { NatsClusterOptions, NatsConnectOptions, NatsTlsOptions, HostUpEvent, HostDownEvent } from './cluster/nats-options.js';
export type { HostInfo } from './cluster/host-entry.js';
export { AgentRefusedError, HostDownError } from './agent/errors.js';
export type { ChannelSnapshot } from './rpc/endpoint-stats.js';
// What a worker module uses (defineWorker, notify, the errors...), also its own entry: `convoy/worker`.
export * from './worker-api.js';
export {
  DEFAULTS,
  type ChannelOptions,
  type RpcOptions,
  type HealthOptions,
  type DashboardOptions,
  type SharedMemoryOptions,
} from './options.js';
export type { DashboardServer } from './dashboard/server.js';
export type {
  DashboardSnapshot,
  ClusterSummary,
  WorkerRow,
  PairRow,
  LatencyRow,
  HistoryPoint,
  HealthRow,
  ChannelFigures,
} from './dashboard/snapshot.js';
export type { ClusterLogEvent, ClusterLogEventType } from './cluster/event-log.js';
export type { ProcessHealth } from './worker/process-health.js';
export type { MethodLatency } from './rpc/call-latency.js';

// Transports, channels, the codec: `convoy/internals` (docs/internals.md).
