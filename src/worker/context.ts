/** What a worker's factory receives: its name, its peers, and proxies to reach them. */
import { EventEmitter } from 'node:events';
import type { Endpoint } from '../rpc/endpoint.js';
import type { Link, ReceivedPeerExit } from '../rpc/link.js';
import { createRemote, type Caller, type Remote } from '../rpc/remote.js';
import { NO_POOL, System } from '../protocol/control.js';
import { MethodNotFoundError, THE_POOL, TimeoutError } from '../errors.js';

export type PeerExitEvent = Omit<ReceivedPeerExit, 'silent'>;

export interface WorkerContextEvents {
  'peer-exit': [event: PeerExitEvent];
}

export class WorkerContext extends EventEmitter<WorkerContextEvents> {
  /** This worker's name (`shard-2`). */
  readonly name: string;
  /** Every other worker's name. */
  readonly peers: readonly string[];
  /** The `data` of this worker's spec (any serialisable value). */
  readonly data: unknown;
  /** Aborted when the cluster shuts this worker down. */
  readonly signal: AbortSignal;
  readonly #links: ReadonlyMap<string, Link>;
  readonly #remotes = new Map<string, Remote<unknown>>();
  readonly #control: Endpoint;
  #coordinator: Remote<unknown> | undefined;
  #pool: Remote<unknown> | undefined;
  readonly #hasPool: boolean;

  /** Built by the worker runtime, which hands it to the factory. */
  constructor(init: {
    name: string;
    data: unknown;
    signal: AbortSignal;
    links: ReadonlyMap<string, Link>;
    control: Endpoint;
    pool: boolean;
  }) {
    super();
    this.name = init.name;
    this.data = init.data;
    this.signal = init.signal;
    this.#links = init.links;
    this.#control = init.control;
    this.#hasPool = init.pool;
    this.peers = Object.freeze([...init.links.keys()]);
  }

  /** A proxy to `name` over the direct pair channel (never through the coordinator). */
  peer<T>(name: string): Remote<T> {
    let remote = this.#remotes.get(name);
    if (!remote) {
      const link = this.#links.get(name);
      if (!link) {
        if (name === this.name) {
          throw new TypeError(`Worker "${name}" is not its own peer: call its methods directly, in its own code, not over a channel`);
        }
        throw new TypeError(`Unknown peer "${name}" (worker "${this.name}" knows: ${this.peers.join(', ') || 'no peers'})`);
      }
      remote = createRemote(link);
      this.#remotes.set(name, remote);
    }
    return remote as Remote<T>;
  }

  /** A proxy to the handlers the coordinator exposes with `startCluster({ expose })`. */
  coordinator<T>(): Remote<T> {
    this.#coordinator ??= createRemote(this.#control);
    return this.#coordinator as Remote<T>;
  }

  /**
   * The cluster's piscina pool (unordered, parallel); calls travel through the coordinator, under the
   * control channel's flow control, with `transfer()`ed buffers moved both ways. Throws a TypeError when
   * the cluster has no pool, as `cluster.pool()` does.
   */
  pool<T>(): Remote<T> {
    if (!this.#hasPool) throw new TypeError(NO_POOL);
    if (!this.#pool) {
      const control = this.#control;
      // The task's arguments stay top-level, where the channel looks for transfer() marks.
      const caller: Caller = {
        peerName: 'pool',
        call: (method, args, options) =>
          control.call(System.pool, [method, ...args], options).catch((error: unknown) => Promise.reject(namingTheTask(error, method))),
        notify: (method, args) => control.notify(System.poolNotify, [method, ...args]),
      };
      this.#pool = createRemote(caller);
    }
    return this.#pool as Remote<T>;
  }
}

/**
 * A pool call's own timeout names the task and the pool: the call it rides on, convoy's own `pool` to the
 * coordinator, is not what the user called. So does a task the pool module lacks: it came through the
 * coordinator, whose name it was rebuilt with.
 */
function namingTheTask(error: unknown, method: string): unknown {
  if (error instanceof TimeoutError && error.method === System.pool) return new TimeoutError(method, error.timeoutMs, THE_POOL);
  if (error instanceof MethodNotFoundError && error.method === method) return new MethodNotFoundError(method, THE_POOL, error.hint);
  return error;
}
