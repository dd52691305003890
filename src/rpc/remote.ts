/**
 * Typed proxies in comlink's spirit: `remote.method(...args)` is an ordered, awaited call, and
 * `notify(remote).method(...args)` its one-way twin on the same channel, in the same order.
 */
import { inspect } from 'node:util';
import { MethodNotFoundError, describe } from '../errors.js';
import { rejectUnknownKeys } from '../option-keys.js';
import { expectDuration } from '../options.js';
import { isSystemMethod } from '../protocol/control.js';
import { markUnsendable } from '../protocol/unsendable.js';
import type { CallOptions } from './pending-call.js';

/** What a proxy needs from whatever carries its calls: an endpoint, or a link that follows restarts. */
export interface Caller {
  /** Who answers, as inspecting a remote shows it: a worker's name, `coordinator` or `pool`. */
  readonly peerName?: string | undefined;
  call(method: string, args: unknown[], options?: CallOptions): Promise<unknown>;
  notify(method: string, args: unknown[]): Promise<void>;
}

// Helper types. `Remote<T>` keeps only T's methods, because only own function-valued properties are
// callable on the far side; each returns a Promise of its awaited result, because every call crosses a
// channel; `Notifier<T>` returns Promise<void>, because a notify settles when it is accepted, not handled.
// biome-ignore lint/suspicious/noExplicitAny: matches any method; `unknown` parameters would exclude most
type Fn = (...args: any[]) => any;
// An optional method (`m?(): void`) is a method too: its type is the function or undefined, and a call to
// a worker that lacks it rejects with MethodNotFoundError.
type MethodOf<T, K extends keyof T> = Exclude<T[K], undefined>;
// `then` and `toJSON` are never methods of a remote (see lazyMethods): awaiting a remote, or serialising
// it, must not call the worker.
type MethodKeys<T> = Exclude<{ [K in keyof T]-?: MethodOf<T, K> extends Fn ? K : never }[keyof T] & string, 'then' | 'toJSON'>;

export type Remote<T> = {
  readonly [K in MethodKeys<T>]: MethodOf<T, K> extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};

export type Notifier<T> = {
  readonly [K in MethodKeys<T>]: MethodOf<T, K> extends (...args: infer A) => unknown ? (...args: A) => Promise<void> : never;
};

/** Maps each proxy back to its caller, so `notify(remote)` needs no hidden property on the proxy. */
const callers = new WeakMap<object, { caller: Caller; options: CallOptions | undefined }>();
const notifiers = new WeakMap<object, object>();

/**
 * An object whose methods are made on first use by `target(name)`. It is a plain object over a Proxy: a
 * name read for the first time misses, reaches the Proxy (its prototype), and becomes a fixed own property
 * of the object, so every later read is an ordinary property load. A Proxy in front would run its `get`
 * trap on every call: ~50 ns of the ~270 ns it took to send a notify (measured alone, in one thread). What
 * reaches the Proxy stays refused: it gives nothing for `then` (or `await remote` would hang) and
 * symbols, and no property can be set. `util.inspect` (console.log, a debugger) and coercion to a string
 * show `label`.
 */
function lazyMethods(target: (method: string) => (...args: unknown[]) => Promise<unknown>, label: string): object {
  const inspected = (): string => label;
  let kept = 0;
  const methods = Object.create(
    new Proxy(Object.create(null) as object, {
      get(_, key, receiver) {
        // `then` must be absent or `await remote` would hang, and `toJSON` or serialising the remote (a
        // logger's JSON.stringify, or an encoder: it is refused, see below) would call the worker. Symbols
        // are local: none is a method of the worker. Inspection shows the label, and so does coercion
        // (`${remote}`, String(remote)), which would otherwise call the worker's toString and valueOf.
        if (key === inspect.custom || key === Symbol.toPrimitive) return inspected;
        if (typeof key !== 'string' || key === 'then' || key === 'toJSON') return undefined;
        const method = target(key);
        // Past MAX_KEPT_METHODS names (a caller that builds them), a method is made on each read instead
        // of kept: the remote must not grow by one for every name ever called.
        if (kept >= MAX_KEPT_METHODS) return method;
        kept++;
        // Not enumerable: the remote still lists no keys, whatever was called on it.
        Object.defineProperty(receiver, key, { value: method, enumerable: false, writable: false, configurable: false });
        return method;
      },
      set() {
        return false;
      },
    }),
  ) as object;
  markUnsendable(methods, UNSENDABLE);
  return methods;
}

/** Methods a remote keeps as its own properties; further names are made each time they are read. */
const MAX_KEPT_METHODS = 1024;

const UNSENDABLE = "A remote (the proxy to a worker) cannot be sent: send the worker's name, and call ctx.peer(name) on the other side";

/**
 * A `Remote<T>` over `caller`. Each method returns a Promise; per-call options apply to every call.
 * Inspecting it shows `[Remote: <caller.peerName>]`.
 */
export function createRemote<T>(caller: Caller, options?: CallOptions): Remote<T> {
  const remote = lazyMethods(
    (method) => (isSystemMethod(method) ? () => noSuchMethod(method, caller) : (...args) => caller.call(method, args, options)),
    `[Remote: ${peerLabel(caller)}]`,
  );
  callers.set(remote, { caller, options });
  return remote as Remote<T>;
}

/** Who answers `caller`'s calls, as inspecting its remotes shows it. */
const peerLabel = (caller: Caller): string => caller.peerName ?? 'peer';

/**
 * The one-way twin of `remote`: same channel, same order as its calls; resolves when accepted. Typed over
 * the remote itself, not the API behind it, so that a remote whose type has a name of its own (`type B =
 * Remote<Api>`) keeps its methods: TypeScript cannot tell `Api` back from such a name.
 */
export function notify<R extends object>(remote: R): Notifier<R>;
/** With the API named (`notify<Api>(remote)`), as before notify() was typed over the remote. */
export function notify<T>(remote: Remote<T> & object): Notifier<T>;
export function notify<R extends object>(remote: R): Notifier<R> {
  const entry = callers.get(remote as object);
  if (!entry) throw new TypeError('notify() expects a remote created by convoy (cluster.worker(), ctx.peer(), ...)');
  let notifier = notifiers.get(remote as object);
  if (!notifier) {
    const { caller, options } = entry;
    // A notify has no deadline (it settles when accepted), but one through a remote whose signal has
    // aborted is not sent, as a call would not be.
    const signal = options?.signal;
    notifier = lazyMethods(
      (method) =>
        isSystemMethod(method)
          ? () => handled(noSuchMethod(method, caller))
          : (...args) => (signal?.aborted ? handled(Promise.reject(signal.reason)) : caller.notify(method, args)),
      `[Notifier: ${peerLabel(caller)}]`,
    );
    notifiers.set(remote as object, notifier);
  }
  return notifier as Notifier<R>;
}

/** A notify refused before it is sent, marked handled as every notify's promise is. */
function handled(refused: Promise<never>): Promise<never> {
  refused.catch(() => {});
  return refused;
}

/**
 * A name that starts with NUL is convoy's own control call's (src/protocol/control.ts), never a method of a
 * user's API: refused here, so no remote can reach the control handlers on a worker's control channel.
 */
function noSuchMethod(method: string, caller: Caller): Promise<never> {
  return Promise.reject(new MethodNotFoundError(method, caller.peerName));
}

/**
 * The same remote, with a timeout or abort signal applied to each call made through it. Bad options
 * throw here, at once: a misspelt `timeout` would otherwise leave every call without one.
 */
export function withOptions<R extends object>(remote: R, options: CallOptions): R;
/** With the API named (`withOptions<Api>(remote, options)`). */
export function withOptions<T>(remote: Remote<T> & object, options: CallOptions): Remote<T>;
export function withOptions<R extends object>(remote: R, options: CallOptions): R {
  const entry = callers.get(remote);
  if (!entry) throw new TypeError('withOptions() expects a remote created by convoy');
  return createRemote(entry.caller, { ...entry.options, ...checkCallOptions(options) }) as R;
}

const CALL_OPTION_KEYS = ['timeoutMs', 'signal'] as const satisfies readonly (keyof CallOptions)[];

function checkCallOptions(options: CallOptions): CallOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`Expected withOptions()'s options to be an object, got ${describe(options)}`);
  }
  rejectUnknownKeys(options, CALL_OPTION_KEYS, 'withOptions() options');
  if (options.timeoutMs !== undefined) expectDuration('timeoutMs', options.timeoutMs);
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new TypeError(`Expected \`signal\` to be an AbortSignal, got ${describe(options.signal)}`);
  }
  return options;
}
