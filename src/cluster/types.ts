/** The coordinator's public option and event types. */
import type { ChannelOptions, DashboardOptions, HealthOptions, RpcOptions, SharedMemoryOptions } from '../options.js';
import type { DeathReason } from '../errors.js';
import type { WorkerKind } from '../protocol/control.js';
import type { HostDownEvent, HostUpEvent, NatsClusterOptions } from './nats-options.js';

export interface WorkerSpec {
  /** Unique name; with `count`, workers are named `name-0` .. `name-(count-1)`. */
  name: string;
  /**
   * The worker module: a path (relative to the current directory) or a file URL; `.js` or `.ts` (a `.js`
   * that does not exist beside a `.ts` that does is the `.ts`).
   */
  module: string | URL;
  /** @default 'thread' */
  kind?: WorkerKind;
  /** Numbered replicas of this spec; a cluster has at most 10 000 workers. @default 1 (one worker, named exactly `name`) */
  count?: number;
  /** @default 'never' */
  restart?: 'never' | 'on-failure';
  /** Overrides the cluster's `maxRestarts` for this worker. */
  maxRestarts?: number;
  /** Finish each message from one sender before starting the next. @default false */
  serial?: boolean;
  /**
   * This thread's channels (to the coordinator, and to peer threads that use it too) over shared-memory
   * rings; overrides the cluster's `sharedMemory`. The coordinator's own threads only (not a process, not a
   * worker on another host). @default the cluster's `sharedMemory`
   */
  sharedMemory?: boolean;
  /** Any serialisable value, handed to the worker as `ctx.data`. */
  data?: unknown;
  /** Extra environment variables (threads and processes). */
  env?: Record<string, string>;
  /** `process.argv` additions for the worker. */
  argv?: readonly string[];
  /** Node flags for a process worker (e.g. `--max-old-space-size=512`), or a thread's execArgv. */
  execArgv?: readonly string[];
  /** Heap limits: a thread's resourceLimits; for a process, maxOldGenerationSizeMb becomes --max-old-space-size. */
  resourceLimits?: { maxOldGenerationSizeMb?: number; maxYoungGenerationSizeMb?: number; stackSizeMb?: number };
  /**
   * The host that runs this worker: the name a `convoy agent --host NAME` joined with (needs the cluster's
   * `nats` option). `module` is then resolved on that host, against the agent's `--cwd`.
   * @default the coordinator's host
   */
  host?: string;
}

export interface PoolSpec {
  /** A module whose named exports are the pool's tasks: `export function resize(img) {...}`. */
  module: string | URL;
  /** @default the number of CPUs */
  maxThreads?: number;
  minThreads?: number;
}

export interface ClusterOptions extends ChannelOptions, RpcOptions, HealthOptions, SharedMemoryOptions {
  /** The workers to start: at least one, unless the cluster has a `pool` (then absent is none). */
  workers?: readonly WorkerSpec[];
  /** Handlers the coordinator serves to workers (`ctx.coordinator<T>()`). */
  expose?: object;
  /** A piscina pool for unordered, stateless work (`cluster.pool<T>()`, `ctx.pool<T>()`). */
  pool?: PoolSpec;
  /**
   * Interface every listener binds: a non-empty string (anything else is a TypeError). The coordinator
   * listens only for process workers (threads need no socket): with one, an address it cannot bind rejects
   * `startCluster` with an error naming `host` and the value, with the original `code` (e.g.
   * `EADDRNOTAVAIL`) and the original error as its `cause`. @default '127.0.0.1'
   */
  host?: string;
  /**
   * Serve the live dashboard (a web page, `/api/snapshot`, `/events`, `/metrics`) from the coordinator;
   * its address, with the access token, is `cluster.dashboardUrl`. `true` takes every default.
   * @default undefined (no dashboard)
   */
  dashboard?: DashboardOptions | true;
  /**
   * Workers on other hosts: the NATS server(s) their agents joined, its credentials, and the cluster
   * secret file the agents share. `startCluster` waits (up to `startTimeoutMs`) for every host a worker
   * spec names. @default undefined (every worker on this host)
   */
  nats?: NatsClusterOptions;
}

export interface WorkerExitEvent {
  name: string;
  reason: DeathReason;
  exitCode?: number;
  /** The same as `exitCode`: the event's field as convoy's design names it (`{ name, reason, code?, signal? }`). */
  code?: number;
  signal?: string;
  /**
   * For a crash, the uncaught error it crashed with, when known (from another process: a `RemoteError`);
   * for the last exit after its restarts gave up, why: `Gave up after N restarts`, the last start's failure
   * as its cause.
   */
  error?: Error;
  incarnation: number;
  /** A new incarnation will be started. */
  restarting: boolean;
}

export interface WorkerReadyEvent {
  name: string;
  incarnation: number;
  kind: WorkerKind;
  pid: number;
  threadId: number;
  /** Milliseconds from spawn to connected. */
  startMs: number;
}

export interface WorkerRestartEvent extends WorkerReadyEvent {
  restarts: number;
}

export interface ClusterEvents {
  /** An incarnation became ready. The start's events are heard on the turn after `startCluster()` resolves, in order. */
  'worker-ready': [event: WorkerReadyEvent];
  /** An incarnation that was ready ended (and a last one when restarts give up). */
  'worker-exit': [event: WorkerExitEvent];
  /** A restarted incarnation became ready (after its `worker-ready`). */
  'worker-restart': [event: WorkerRestartEvent];
  /** An agent joined this cluster (again). */
  'host-up': [event: HostUpEvent];
  /** An agent left, went silent past `heartbeatTimeoutMs`, or was cut off: its workers are lost. */
  'host-down': [event: HostDownEvent];
}

// Every option name, so that an unknown one is an error (see option-keys.ts). The checks below fail to
// compile when an option is added to a type and not here.
export const CLUSTER_OPTION_KEYS = [
  'workers',
  'expose',
  'pool',
  'host',
  'flushDelayMs',
  'maxBatchBytes',
  'maxFrameBytes',
  'maxQueuedBytes',
  'maxInFlight',
  'backpressure',
  'callTimeoutMs',
  'heartbeatIntervalMs',
  'heartbeatTimeoutMs',
  'startTimeoutMs',
  'maxRestarts',
  'restartDelayMs',
  'handshakeTimeoutMs',
  'dashboard',
  'sharedMemory',
  'ringBytes',
  'spinMicros',
  'nats',
] as const satisfies readonly (keyof ClusterOptions)[];

export const WORKER_SPEC_KEYS = [
  'name',
  'module',
  'kind',
  'count',
  'restart',
  'maxRestarts',
  'serial',
  'sharedMemory',
  'data',
  'env',
  'argv',
  'execArgv',
  'resourceLimits',
  'host',
] as const satisfies readonly (keyof WorkerSpec)[];

export const POOL_SPEC_KEYS = ['module', 'maxThreads', 'minThreads'] as const satisfies readonly (keyof PoolSpec)[];

export const NATS_OPTION_KEYS = [
  'servers',
  'token',
  'user',
  'pass',
  'tls',
  'secretFile',
  'cluster',
] as const satisfies readonly (keyof NatsClusterOptions)[];

type Exhaustive<Listed, All> = [Exclude<All, Listed>] extends [never] ? true : Exclude<All, Listed>;
const allClusterOptions: Exhaustive<(typeof CLUSTER_OPTION_KEYS)[number], keyof ClusterOptions> = true;
const allWorkerSpecKeys: Exhaustive<(typeof WORKER_SPEC_KEYS)[number], keyof WorkerSpec> = true;
const allPoolSpecKeys: Exhaustive<(typeof POOL_SPEC_KEYS)[number], keyof PoolSpec> = true;
const allNatsOptions: Exhaustive<(typeof NATS_OPTION_KEYS)[number], keyof NatsClusterOptions> = true;
void [allClusterOptions, allWorkerSpecKeys, allPoolSpecKeys, allNatsOptions];
