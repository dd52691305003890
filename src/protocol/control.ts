/**
 * The control protocol between the coordinator and each worker: the bootstrap a worker starts from, and
 * the system calls on its control channel (method names start with NUL, so no user API can clash).
 */
import type { MessagePort } from 'node:worker_threads';
import type { FilledChannelOptions } from '../options.js';
import type { ChannelSnapshot } from '../rpc/endpoint-stats.js';
import type { ProcessHealth } from '../worker/process-health.js';
import type { DeathReason, WireError } from '../errors.js';

export type WorkerKind = 'thread' | 'process';

/**
 * The pool task that answers once a pool thread has loaded the module (workers/pool.js): convoy's own
 * (NUL-prefixed), never a task's name.
 */
export const POOL_LOADED = '\0loaded';

/** `cluster.pool()` and `ctx.pool()` in a cluster started without a pool. */
export const NO_POOL = 'No pool is configured: pass startCluster({ pool: { module } })';

export interface Bootstrap {
  v: number;
  name: string;
  incarnation: number;
  kind: WorkerKind;
  /** File URL of the user's worker module. */
  module: string;
  serial: boolean;
  data: unknown;
  /** Every worker name in the cluster, this one included. */
  names: string[];
  channel: FilledChannelOptions;
  callTimeoutMs: number;
  /** How long a call to a connecting or restarting peer waits for it. */
  linkWaitMs: number;
  handshakeTimeoutMs: number;
  /** Processes only: where the coordinator listens. */
  coordinatorPort?: number;
  coordinatorHost?: string;
  /** Host this worker's own listener binds (processes). */
  host: string;
  /** The cluster has a pool (`startCluster({ pool })`): without one, `ctx.pool()` is refused at once. */
  pool: boolean;
}

/**
 * A pair's channel opens on its first use: a worker with a call for a peer it has no channel to asks the
 * coordinator (`\0open`), which opens one — a MessagePort handed to two threads, or a TCP connection one
 * side dials — and numbers it. `had` is the pair number of the channel the asker last had to that peer (0:
 * none), so the coordinator can tell a channel that was lost from one still on its way.
 */
export type OpenReply =
  /** The channel is open, or on its way to both sides. */
  | { ok: true }
  /**
   * No channel: the peer is gone for good (`exit`), or did not become ready in time, or both lived and
   * every try failed (`reason`: how the last one did, e.g. a dial refused for want of file descriptors).
   */
  | { ok: false; exit?: PeerExit; reason?: string };

/** The coordinator's word to a worker: dial this peer's listener and bind the connection as pair `pair`. */
export interface DialPlan {
  name: string;
  incarnation: number;
  host: string;
  port: number;
  pair: number;
}

/**
 * The coordinator's word to each worker of a pair on different hosts: bind a NATS transport to peer
 * `name`'s incarnation `incarnation` as pair `pair`. Both sides bind; neither dials.
 */
export interface NatsPairPlan {
  name: string;
  incarnation: number;
  pair: number;
}

export interface StartResult {
  pid: number;
  threadId: number;
}

export interface PeerExit {
  name: string;
  /** The incarnation that ended (0, then 1 after the first restart...). */
  incarnation: number;
  reason: DeathReason;
  exitCode?: number;
  signal?: string;
  /** For a crash, the uncaught error it crashed with, when known (plain data, like its last words). */
  error?: WireError;
  /** A new incarnation is coming: calls to it wait instead of failing. */
  restarting: boolean;
  /**
   * Set for an incarnation that died while being wired: it never was a peer to user code, so workers drop
   * what they have of it but emit no 'peer-exit'.
   */
  silent?: true;
}

/**
 * A worker's answer to `System.stats` (whose argument is the number of the answer the coordinator holds):
 * its direct channels, and how its thread or process is doing. A channel unchanged since the answer the
 * coordinator named is its peer's name alone (worker/stats-answers.ts).
 */
export interface StatsAnswer {
  /** This answer's number, for the next reading to name. */
  answer: number;
  peers: (ChannelSnapshot | string)[];
  process: ProcessHealth;
}

/** Whether `method` names one of convoy's own calls (NUL-prefixed): no user API can have such a name. */
export function isSystemMethod(method: string): boolean {
  return method.charCodeAt(0) === 0;
}

/**
 * Whether a call is convoy's own bookkeeping (stats, opening a pair, exit notices), which flow control
 * does not hold: it must not queue behind a user's flood. A worker's pool task is convoy's call too, but
 * it is user work carrying user data, so it is flow-controlled and transfers buffers like any call.
 */
export function skipsFlowControl(method: string): boolean {
  return isSystemMethod(method) && method !== System.pool && method !== System.poolNotify;
}

export const System = {
  start: '\0start',
  listen: '\0listen',
  connect: '\0connect',
  natsPair: '\0natsPair',
  open: '\0open',
  peerExit: '\0peerExit',
  shutdown: '\0shutdown',
  /** A worker's pool task, as a call: the worker's timeout or abort takes the task back. */
  pool: '\0pool',
  /** A worker's pool task, as a notify: it runs even if the worker has exited by then. */
  poolNotify: '\0poolNotify',
  stats: '\0stats',
} as const;

/** Posted on a thread's parentPort (ports cannot travel inside an encoded frame). */
export interface PortHandoff {
  convoy: 'peer-port';
  peer: string;
  incarnation: number;
  /** The pair's number (see OpenReply). */
  pair: number;
  port: MessagePort;
  /** The pair's shared-memory rings, when it uses them. */
  shm?: ShmEnd;
}

/**
 * One side's share of a thread pair's shared memory, handed over beside the pair's port: the ring this
 * side writes, the ring it reads, and how long its reader polls before it sleeps.
 */
export interface ShmEnd {
  send: SharedArrayBuffer;
  receive: SharedArrayBuffer;
  spinMicros: number;
}

export const COORDINATOR = 'coordinator';

/** A worker's answer to `\0shutdown`: whether its code has cleanup to do, for which it is given a moment. */
export interface ShutdownAnswer {
  cleanup: boolean;
}
