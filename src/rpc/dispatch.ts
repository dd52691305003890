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
  /**
   * The last method found, and its handler. A method name arrives as a new string each time, which a Map
   * must hash before it can look it up; comparing it with the last one is cheaper, and a flood of calls
   * or notifies names the same method over and over.
   */
  #lastMethod: string | undefined;
  #lastHandler: Handler | undefined;

  constructor(api: object, owner?: string) {
    this.#api = api as Record<string, unknown>;
    this.#owner = owner;
  }

  /** The handler `method` names, or undefined when the API has no such own method. */
  handler(method: string): Handler | undefined {
    if (method === this.#lastMethod) return this.#lastHandler;
    let handler = this.#cache.get(method);
    if (!handler) {
      const value = Object.hasOwn(this.#api, method) ? this.#api[method] : undefined;
      if (typeof value !== 'function') return undefined;
      handler = value as Handler;
      this.#cache.set(method, handler);
    }
    this.#lastMethod = method;
    this.#lastHandler = handler;
    return handler;
  }

  /** Runs `handler` with `args`, `this` being the API object. Throws what the handler throws. */
  run(handler: Handler, args: unknown[]): unknown {
    return handler.apply(this.#api, args);
  }

  /** The error for a method this API does not have; it says so when the API's class has it. */
  notFound(method: string): MethodNotFoundError {
    return new MethodNotFoundError(method, this.#owner, inheritedHint(this.#api, method));
  }
}

/**
 * Why a method the API inherits from a class of its own (not Object's) is not served, or undefined: the
 * factory returned an instance, whose methods live on its prototype.
 */
function inheritedHint(api: object, method: string): string | undefined {
  for (let proto = Object.getPrototypeOf(api); proto !== null && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    if (!Object.hasOwn(proto, method) || typeof Object.getOwnPropertyDescriptor(proto, method)?.value !== 'function') continue;
    const owner = Object.hasOwn(proto, 'constructor') && typeof proto.constructor === 'function' ? proto.constructor.name : '';
    return `it is a method of ${owner ? `class ${owner}` : "the API object's prototype"}, and only the API object's own methods are served (return an object of functions, or bind the methods onto the instance)`;
  }
  return undefined;
}
