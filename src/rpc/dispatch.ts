/**
 * Which handler a method name reaches. Only the API object's own function-valued properties are
 * callable: never its prototype chain (`toString`, `constructor`, `__proto__`), never a property path
 * the other side chose (comlink walks one, and that is a hole).
 */
import { MethodNotFoundError } from '../errors.js';

export type Handler = (...args: unknown[]) => unknown;

export class Dispatcher {
  readonly #api: Record<string, unknown>;
  readonly #cache = new Map<string, Handler>();
  readonly #owner: string | undefined;

  constructor(api: object, owner?: string) {
    this.#api = api as Record<string, unknown>;
    this.#owner = owner;
  }

  /** Calls `method` with `args` (`this` is the API object). Throws MethodNotFoundError or what the handler throws. */
  invoke(method: string, args: unknown[]): unknown {
    let handler = this.#cache.get(method);
    if (!handler) {
      const value = Object.prototype.hasOwnProperty.call(this.#api, method) ? this.#api[method] : undefined;
      if (typeof value !== 'function') throw new MethodNotFoundError(method, this.#owner);
      handler = value as Handler;
      this.#cache.set(method, handler);
    }
    return handler.apply(this.#api, args);
  }
}
