/**
 * The pooled path: piscina for stateless, unordered, parallel work and large payloads that should not
 * hold up an ordered stream. Each task is a named export of the pool module, called with the arguments;
 * ArrayBuffers found in the top-level arguments are transferred, not copied, and so are the buffers
 * marked with `transfer()`.
 */
import type { Piscina } from 'piscina';
import { needsTsx, moduleUrl, poolEntry, poolSupportModule } from './paths.js';
import type { PoolSpec } from './types.js';
import type { Caller } from '../rpc/remote.js';
import {
  ClusterClosedError,
  SerializationError,
  THE_POOL,
  TimeoutError,
  WorkerDiedError,
  WorkerStartError,
  errorFromWire,
  errorToWire,
  toError,
  type WireError,
} from '../errors.js';
import { watchDeadline } from '../rpc/abort-watch.js';
import type { CallOptions } from '../rpc/pending-call.js';
import { POOL_LOADED } from '../protocol/control.js';
import { transferListOf } from '../protocol/transfer.js';
import { MAX_NESTING_DEPTH, cloneProblem } from '../protocol/nesting.js';

/** The wire form each task failure was rebuilt from (see `poolWireOf`). */
const wires = new WeakMap<Error, WireError>();

function rebuiltFrom(wire: WireError): Error {
  const error = errorFromWire(wire, THE_POOL);
  wires.set(error, wire);
  return error;
}

/**
 * The wire form a task's failure came in, for passing it on unchanged to a worker that called the task
 * through the coordinator (`ctx.pool()`): undefined for any other error.
 */
export function poolWireOf(error: unknown): WireError | undefined {
  return error instanceof Error ? wires.get(error) : undefined;
}

/** A task's arguments as sent: a copy, and the buffers moved into it. */
interface Sent {
  args: unknown[];
  transferList: ArrayBuffer[];
}

export class Pool implements Caller {
  readonly peerName = 'pool';
  readonly #piscina: Piscina;
  readonly #module: string;
  /** The cluster's `callTimeoutMs`: what a call with no `timeoutMs` of its own gets (0: none). */
  readonly #callTimeoutMs: number;
  #closed = false;
  /** New tasks are refused (the cluster is closing or closed). */
  #refusing = false;
  /** Tasks convoy ran itself (the check that the module loads): `stats.completed` counts the user's only. */
  #ownTasks = 0;
  /** Fails `loaded()` when a pool thread fails before it could answer (see the 'error' listener). */
  #failStart: ((error: Error) => void) | undefined;

  /** piscina is loaded only when a pool is configured: most clusters never pay for it. */
  static async create(spec: PoolSpec, callTimeoutMs: number): Promise<Pool> {
    const { Piscina } = await import('piscina');
    return new Pool(spec, callTimeoutMs, Piscina);
  }

  private constructor(spec: PoolSpec, callTimeoutMs: number, PiscinaClass: typeof Piscina) {
    const module = moduleUrl(spec.module);
    this.#module = module;
    this.#callTimeoutMs = callTimeoutMs;
    this.#piscina = new PiscinaClass({
      filename: poolEntry.href,
      workerData: { module, tsx: needsTsx(module), support: poolSupportModule },
      // An idle thread waits in its event loop, not blocked in Atomics.wait ('sync', piscina's default):
      // what a finished task left behind (a timer, a rejection) runs then, and an error of it is reported
      // below, instead of running inside the next task and failing it.
      atomics: 'async',
      ...(spec.maxThreads !== undefined ? { maxThreads: spec.maxThreads } : {}),
      ...(spec.minThreads !== undefined ? { minThreads: spec.minThreads } : {}),
    });
    // piscina emits 'error' for a pool thread that fails with no task of its own to fail: one that could
    // not start, or an exception a finished task left behind (on a timer, say). Unheard, that event would
    // end the coordinator's process. piscina replaces a thread that had started; one that failed to start
    // fails the start of the cluster.
    this.#piscina.on('error', (error: unknown) => {
      const failed = toError(error);
      if (this.#failStart) this.#failStart(failed);
      else
        process.emitWarning(`A convoy pool thread failed outside any task: ${failed.message}`, {
          code: 'CONVOY_POOL_THREAD',
          detail: failed.stack,
        });
    });
  }

  /**
   * Resolves once a pool thread has loaded the module; rejects with WorkerStartError (worker `pool`) when
   * it failed to, or did not within `timeoutMs` (the cluster's startTimeoutMs), with why as the cause.
   */
  async loaded(timeoutMs: number): Promise<void> {
    const failed = new Promise<never>((_, reject) => {
      this.#failStart = reject;
    });
    try {
      await Promise.race([this.call(POOL_LOADED, [], { timeoutMs }), failed]);
      this.#ownTasks++;
    } catch (error) {
      throw new WorkerStartError(this.peerName, `failed to load ${this.#module}`, { cause: error });
    } finally {
      this.#failStart = undefined;
    }
  }

  /**
   * Runs the task `method` on a pool thread. A timeout (`timeoutMs`, else the cluster's `callTimeoutMs`) or
   * an aborted `signal` rejects the call at once, as a worker's call does, and takes the task back from
   * piscina: one still queued never runs; one running has its pool thread terminated (piscina cannot
   * stop a task any other way) and replaced.
   */
  async call(method: string, args: unknown[], options?: CallOptions): Promise<unknown> {
    if (options?.signal?.aborted) throw options.signal.reason;
    return this.#run(method, this.#sendable(method, args), options?.timeoutMs ?? this.#callTimeoutMs, options?.signal);
  }

  /**
   * One-way: settles at once, rejecting (marked handled) only when the task cannot be sent, as a worker's
   * notify does. A task that fails is reported as a worker's notify handler is, with a warning.
   */
  notify(method: string, args: unknown[]): Promise<void> {
    let sent: Sent;
    try {
      sent = this.#sendable(method, args);
    } catch (error) {
      const rejected = Promise.reject(error);
      rejected.catch(() => {});
      return rejected;
    }
    void this.#runNotified(method, sent);
    return Promise.resolve();
  }

  /**
   * A notified task (from the coordinator or relayed from a worker): no deadline, as a notify has none.
   * Settles when it is done, whether it failed (reported by a warning) or not.
   */
  async runNotified(method: string, args: unknown[]): Promise<void> {
    let sent: Sent;
    try {
      sent = this.#sendable(method, args);
    } catch (error) {
      this.#notifyFailed(method, error);
      return;
    }
    await this.#runNotified(method, sent);
  }

  async #runNotified(method: string, sent: Sent): Promise<void> {
    try {
      await this.#run(method, sent, 0, undefined);
    } catch (error) {
      this.#notifyFailed(method, error);
    }
  }

  #notifyFailed(method: string, error: unknown): void {
    // Cut off by close(): the user's own act, not the task's failure.
    if (error instanceof ClusterClosedError) return;
    const failed = toError(error);
    process.emitWarning(`convoy: pool task \`${method}\` (notified) failed: ${failed.stack ?? failed.message}`, 'ConvoyNotifyWarning');
  }

  /** The task as it is sent (see #prepare); throws what refuses it. */
  #sendable(method: string, args: unknown[]): Sent {
    const refused = this.#refusal(method, args);
    if (refused) throw refused;
    return this.#prepare(method, args);
  }

  /** Why `method(...args)` cannot be sent to the pool, if it cannot. */
  #refusal(method: string, args: unknown[]): Error | undefined {
    if (this.#refusing) return new ClusterClosedError(`The cluster is closed: \`${method}\` was not sent to the pool`);
    // Refused here as a worker's call refuses them: a remote (clone would copy it as an empty object), a
    // function, or nesting the pool thread could not read (clone would fail it there, as a RemoteError).
    const problem = cloneProblem(args, MAX_NESTING_DEPTH);
    if (problem !== undefined) return unsendableToPool(method, problem);
    return undefined;
  }

  /**
   * The task as it is sent: a copy of the arguments as they are now, with the buffers moved into it.
   * piscina posts a task only when a thread takes it, and a call must take its arguments as it is made (a
   * later write never reaches the task; the buffers leave the caller now, as a call to a worker moves
   * them). Synchronous, so that what cannot be copied (a getter that throws, a WeakMap) is the caller's
   * SerializationError at once, for a notify too, not a failure piscina would report later as if the
   * thread had died. Top-level ArrayBuffers (and views that span theirs) move too, as documented.
   */
  #prepare(method: string, args: unknown[]): Sent {
    const found = args.flatMap((arg) =>
      arg instanceof ArrayBuffer
        ? [arg]
        : ArrayBuffer.isView(arg) && arg.buffer instanceof ArrayBuffer && arg.byteOffset === 0 && arg.byteLength === arg.buffer.byteLength
          ? [arg.buffer]
          : [],
    );
    const transferList: ArrayBuffer[] = [...new Set([...found, ...(transferListOf(args) ?? [])])];
    try {
      return structuredClone({ args, transferList }, { transfer: transferList });
    } catch (error) {
      throw unsendableToPool(method, toError(error).message, error);
    }
  }

  async #run(method: string, sent: Sent, timeoutMs: number, signal: AbortSignal | undefined): Promise<unknown> {
    // One signal piscina takes the task back on: the call's deadline, or the caller's signal.
    const giveUp = timeoutMs > 0 || signal ? new AbortController() : undefined;
    const unwatch =
      giveUp &&
      watchDeadline(
        timeoutMs,
        signal,
        () => new TimeoutError(method, timeoutMs, THE_POOL),
        (reason) => giveUp.abort(reason),
      );
    try {
      return await this.#piscina.run({ method, args: sent.args }, { transferList: sent.transferList, signal: giveUp?.signal ?? null });
    } catch (error) {
      if (giveUp?.signal.aborted) throw giveUp.signal.reason;
      // piscina fails what it still runs when it is destroyed: the cluster closed under the call.
      if (this.#closed) throw new ClusterClosedError(`The cluster closed before \`${method}\` on the pool finished`, { cause: error });
      // The pool thread sends every failure of a task in wire form: piscina's structured clone would drop
      // its own properties (its `code`).
      const wire = (error as { convoyError?: WireError } | null)?.convoyError;
      if (wire) throw rebuiltFrom(wire);
      throw poolThreadDied(method, error);
    } finally {
      unwatch?.();
    }
  }

  get stats(): { threads: number; queued: number; completed: number } {
    const completed = this.#piscina.completed - this.#ownTasks;
    return { threads: this.#piscina.threads.length, queued: this.#piscina.queueSize, completed };
  }

  /** The cluster is closing: tasks already sent go on until close(), new ones are refused. */
  refuseNew(): void {
    this.#refusing = true;
  }

  close(): Promise<void> {
    this.#closed = this.#refusing = true;
    return this.#piscina.destroy();
  }
}

/** Why a task's arguments were refused, whether the walk (#refusal) or structured clone (#prepare) found it. */
function unsendableToPool(method: string, why: string, cause?: unknown): SerializationError {
  return new SerializationError(
    `An argument of \`${method}\` cannot be sent to the pool: ${why}`,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * A task's failure that is no answer of the task's: its pool thread ended under it (`process.exit()`, or an
 * error nothing caught), and piscina failed it with that. A death, as a worker's is, not a throw of the task;
 * piscina replaces the thread.
 */
function poolThreadDied(method: string, error: unknown): WorkerDiedError {
  const exited = /^worker exited with code: (-?\d+)$/.exec(toError(error).message);
  // Named as WorkerStartError names the pool: `pool`.
  if (exited) return new WorkerDiedError({ worker: 'pool', reason: 'exit', exitCode: Number(exited[1]), method }, { cause: error });
  return new WorkerDiedError({ worker: 'pool', reason: 'crash', method, error: errorFromWire(errorToWire(error), THE_POOL) });
}
