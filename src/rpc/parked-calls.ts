/**
 * Calls and notifies made while a link has no endpoint (its peer is connecting or restarting), waiting
 * in the order they were made. Each waits at most `waitMs` from the moment it was parked — its own full
 * wait, however long the calls before it have waited. One timer serves them all: parked in time order,
 * they expire in that order too.
 */
export interface Parked {
  /** `performance.now()` when it was parked. */
  readonly parkedAt: number;
  fail(error: Error): void;
}

export class ParkedCalls<T extends Parked> {
  readonly #waitMs: number;
  readonly #onExpired: (expired: T[]) => void;
  #items: T[] = [];
  #timer: NodeJS.Timeout | undefined;

  /** `onExpired` gets the calls whose wait ran out, oldest first; they have left the queue. */
  constructor(waitMs: number, onExpired: (expired: T[]) => void) {
    this.#waitMs = waitMs;
    this.#onExpired = onExpired;
  }

  get length(): number {
    return this.#items.length;
  }

  push(item: T): void {
    this.#items.push(item);
    // Not unref'd: while a call is parked, this timer is what will settle it.
    this.#timer ??= setTimeout(this.#expire, Math.max(0, item.parkedAt + this.#waitMs - performance.now()));
  }

  /** A call gave up on its own (timeout, abort): it leaves the queue. */
  remove(item: T): void {
    const index = this.#items.indexOf(item);
    if (index >= 0) this.#items.splice(index, 1);
    if (this.#items.length === 0) this.#stop();
  }

  /** Every parked call, oldest first; the queue is left empty. */
  takeAll(): T[] {
    const items = this.#items;
    this.#items = [];
    this.#stop();
    return items;
  }

  readonly #expire = (): void => {
    this.#timer = undefined;
    const now = performance.now();
    let count = 0;
    while (count < this.#items.length && this.#items[count]!.parkedAt + this.#waitMs <= now) count++;
    const expired = this.#items.splice(0, count);
    const next = this.#items[0];
    if (next) this.#timer = setTimeout(this.#expire, Math.max(0, next.parkedAt + this.#waitMs - now));
    if (expired.length > 0) this.#onExpired(expired);
  };

  #stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
