/**
 * Waiting without sleeping: every wait is for an event or a promise, bounded by a deadline that fails
 * the test with a message naming what never happened.
 */
import { once, type EventEmitter } from 'node:events';

export class DeadlineError extends Error {
  override name = 'DeadlineError';
}

/**
 * Resolves like `promise`, or rejects with DeadlineError naming `what` after `ms`. The result is marked
 * handled (see `handled`): a deadline armed early and awaited later does not add an unhandled rejection
 * when the test fails before reaching it.
 */
export function withDeadline<T>(promise: PromiseLike<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(`${what}: not done within ${ms} ms`)), ms);
  });
  return handled(Promise.race([Promise.resolve(promise), deadline]).finally(() => clearTimeout(timer)));
}

/**
 * `promise` itself, its rejection marked handled: for a promise a test makes early and awaits later. If
 * the test fails in between, the rejection its teardown then causes (a call failed by the cluster's
 * close) is not reported as an unhandled rejection on top of the real failure. Awaiting it still throws.
 */
export function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

/** The first `event` from `emitter`, within `ms`. */
export function nextEvent<T extends unknown[] = unknown[]>(
  emitter: EventEmitter,
  event: string,
  ms: number,
  what = `event "${event}"`,
): Promise<T> {
  return withDeadline(once(emitter, event) as Promise<T>, ms, what);
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A promise that resolves once `count` calls to `tick()` have been made. */
export function countdown(count: number): { tick(): void; done: Promise<void>; readonly left: number } {
  const d = deferred();
  let left = count;
  if (left <= 0) d.resolve();
  return {
    tick() {
      if (--left === 0) d.resolve();
    },
    done: d.promise,
    get left() {
      return left;
    },
  };
}

/** Outcome of a promise, captured without ever leaving a rejection unhandled. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

export function outcome<T>(promise: Promise<T>): Promise<Outcome<T>> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

/** A promise that resolves after the current macrotask: lets queued I/O callbacks run. Not a sleep. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A counter whose waiters are resolved by the increment that reaches their target: event-driven, no polling. */
export class Counter {
  #count = 0;
  #waiters: { target: number; resolve: () => void }[] = [];

  get count(): number {
    return this.#count;
  }

  add(n = 1): void {
    this.#count += n;
    this.#waiters = this.#waiters.filter((w) => {
      if (this.#count < w.target) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves once the count reaches `target`, within `ms`. */
  reach(target: number, ms: number, what: string): Promise<void> {
    if (this.#count >= target) return Promise.resolve();
    const d = deferred();
    this.#waiters.push({ target, resolve: d.resolve });
    return withDeadline(d.promise, ms, `${what} (count ${this.#count} of ${target})`);
  }
}

/** When a test handler acts: 0 at once, 1 after a microtask, 2 after a macrotask, 3 after a 1 ms timer. */
export type Delay = 0 | 1 | 2 | 3;

/** Waits as `delay` says; undefined for 0, so a handler can stay synchronous. */
export function pause(delay: Delay): Promise<void> | undefined {
  switch (delay) {
    case 0:
      return undefined;
    case 1:
      return Promise.resolve();
    case 2:
      return nextTurn();
    case 3:
      return new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/**
 * A rejection handler that logs the error's cause chain, then rethrows: ava shows a failure's message
 * but not its `cause`, which often says what really happened (why a NATS peer reset a pair).
 */
export function logCauses(t: { log(...values: unknown[]): void }): (error: unknown) => never {
  return (error) => {
    const chain: string[] = [];
    for (let e = error; e !== undefined && e !== null && chain.length < 8; e = (e as { cause?: unknown }).cause) {
      chain.push(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
    }
    t.log(`cause chain: ${chain.join(' <- ')}`);
    throw error;
  };
}
