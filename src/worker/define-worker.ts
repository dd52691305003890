/** `defineWorker`: what a worker module exports by default. */
import type { WorkerContext } from './context.js';

/** Symbol.for, not Symbol(): a module built against dist/ and a runtime loaded from src/ must agree. */
export const WORKER_BRAND = Symbol.for('convoy.worker');

export type WorkerFactory<Api extends object> = (ctx: WorkerContext) => Api | Promise<Api>;

export interface WorkerDefinition<Api extends object = object> {
  readonly [WORKER_BRAND]: true;
  readonly factory: WorkerFactory<Api>;
}

/**
 * Declares a worker: `factory` runs once in the worker (thread or process) and returns the handlers
 * peers and the coordinator may call. Only the returned object's own methods are callable.
 */
export function defineWorker<Api extends object>(factory: WorkerFactory<Api>): WorkerDefinition<Api> {
  if (typeof factory !== 'function') throw new TypeError(`defineWorker() expects a factory function, got ${typeof factory}`);
  return { [WORKER_BRAND]: true, factory };
}

export function isWorkerDefinition(value: unknown): value is WorkerDefinition {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[WORKER_BRAND] === true;
}

/** The API type a worker module serves: `WorkerApi<typeof import('./counter.js')>`. */
export type WorkerApi<M> = M extends { default: WorkerDefinition<infer Api> } ? Api : M extends WorkerDefinition<infer Api> ? Api : never;
