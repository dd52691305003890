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
import { SerializationError, THE_POOL, WorkerStartError, errorFromWire, errorToWire, toError, type WireError } from '../errors.js';
import { POOL_LOADED } from '../protocol/control.js';
import { transferListOf } from '../protocol/transfer.js';
import { MAX_NESTING_DEPTH, cloneProblem } from '../protocol/nesting.js';

export class Pool implements Caller {
  readonly peerName = 'pool';
  readonly #piscina: Piscina;
  readonly #module: string;
  /** Fails `loaded()` when a pool thread fails before it could answer (see the 'error' listener). */
  #failStart: ((error: Error) => void) | undefined;

  /** piscina is loaded only when a pool is configured: most clusters never pay for it. */
  static async create(spec: PoolSpec): Promise<Pool> {
    const { Piscina } = await import('piscina');
    return new Pool(spec, Piscina);
  }

  private constructor(spec: PoolSpec, PiscinaClass: typeof Piscina) {
    const module = moduleUrl(spec.module);
    this.#module = module;
    this.#piscina = new PiscinaClass({
      filename: poolEntry.href,
      workerData: { module, tsx: needsTsx(module), support: poolSupportModule },
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
   * it failed to, with what it failed with as the cause.
   */
  async loaded(): Promise<void> {
    const failed = new Promise<never>((_, reject) => {
      this.#failStart = reject;
    });
    try {
      await Promise.race([this.call(POOL_LOADED, []), failed]);
    } catch (error) {
      throw new WorkerStartError(this.peerName, `failed to load ${this.#module}`, { cause: error });
    } finally {
      this.#failStart = undefined;
    }
  }

  async call(method: string, args: unknown[]): Promise<unknown> {
    // Refused here as a worker's call refuses them: a remote (clone would copy it as an empty object), a
    // function, or nesting the pool thread could not read (clone would fail it there, as a RemoteError).
    const problem = cloneProblem(args, MAX_NESTING_DEPTH);
    if (problem !== undefined) {
      throw new SerializationError(`An argument of \`${method}\` cannot be sent to the pool: ${problem}`);
    }
    const found = args.flatMap((arg) =>
      arg instanceof ArrayBuffer
        ? [arg]
        : ArrayBuffer.isView(arg) && arg.buffer instanceof ArrayBuffer && arg.byteOffset === 0 && arg.byteLength === arg.buffer.byteLength
          ? [arg.buffer]
          : [],
    );
    const transferList = [...new Set([...found, ...(transferListOf(args) ?? [])])];
    try {
      return await this.#piscina.run({ method, args }, { transferList });
    } catch (error) {
      // Arguments are cloned to the pool thread: one that cannot be (a function) is the caller's, as a
      // worker's call refuses it.
      if (error instanceof DOMException && error.name === 'DataCloneError') {
        throw new SerializationError(`An argument of \`${method}\` cannot be sent to the pool: ${error.message}`);
      }
      // The pool thread sends a task's error in wire form: piscina's structured clone would drop its
      // own properties (its `code`). Errors of the pool itself arrive as they are.
      const wire = (error as { convoyError?: WireError } | null)?.convoyError;
      throw errorFromWire(wire ?? errorToWire(error), THE_POOL);
    }
  }

  async notify(method: string, args: unknown[]): Promise<void> {
    void this.call(method, args).catch(() => {});
  }

  get stats(): { threads: number; queued: number; completed: number } {
    return { threads: this.#piscina.threads.length, queued: this.#piscina.queueSize, completed: this.#piscina.completed };
  }

  close(): Promise<void> {
    return this.#piscina.destroy();
  }
}
