/**
 * The control protocol between the coordinator and each worker: the bootstrap a worker starts from, and
 * the system calls on its control channel (method names start with NUL, so no user API can clash).
 */
import type { MessagePort } from 'node:worker_threads';
import type { FilledChannelOptions } from '../options.js';

export type WorkerKind = 'thread' | 'process';

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
}

/** How a worker reaches one peer: a MessagePort from the coordinator, or TCP (dial or accept). */
export type PeerPlan = { name: string; incarnation: number } & (
  | { via: 'port' }
  | { via: 'dial'; host: string; port: number }
  | { via: 'accept' }
);

export interface StartResult {
  /** Processes: the port of the worker's peer listener. */
  port?: number;
  pid: number;
  threadId: number;
}

export interface PeerExit {
  name: string;
  /** The incarnation that ended (0, then 1 after the first restart...). */
  incarnation: number;
  reason: string;
  exitCode?: number;
  signal?: string;
  /** A new incarnation is coming: calls to it wait instead of failing. */
  restarting: boolean;
  /**
   * Set for an incarnation that died while being wired: it never was a peer to user code, so workers drop
   * what they have of it but emit no 'peer-exit'.
   */
  silent?: true;
}

/** Whether `method` names one of convoy's own calls (NUL-prefixed): no user API can have such a name. */
export function isSystemMethod(method: string): boolean {
  return method.charCodeAt(0) === 0;
}

export const System = {
  start: '\0start',
  connect: '\0connect',
  peerExit: '\0peerExit',
  shutdown: '\0shutdown',
  pool: '\0pool',
  stats: '\0stats',
} as const;

/** Posted on a thread's parentPort (ports cannot travel inside an encoded frame). */
export interface PortHandoff {
  convoy: 'peer-port';
  peer: string;
  incarnation: number;
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
