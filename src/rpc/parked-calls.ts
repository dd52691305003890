/**
 * Calls and notifies made while a link has no endpoint (its peer is connecting or restarting), waiting
 * in the order they were made. Each waits at most `waitMs` from the moment it was parked — its own full
 * wait, however long the calls before it have waited. One timer serves them all: parked in time order,
 * they expire in that order too.
 *
 * The clock can be held (`hold`) while someone else bounds the wait — a channel being opened, which
 * ends when the peer's side answers or dies — and restarts from the `release`.
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
  #held = false;
  /** When the clock was last released: no call's wait counts from before it. */
  #releasedAt = Number.NEGATIVE_INFINITY;

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
    this.#arm(performance.now());
  }

  /** Stops the clock: no call expires until `release`. */
  hold(): void {
    this.#held = true;
    this.#stop();
  }

  /** Restarts the clock: every call parked now has `waitMs` from here. */
  release(): void {
    if (!this.#held) return;
    this.#held = false;
    this.#releasedAt = performance.now();
    this.#arm(this.#releasedAt);
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
    while (count < this.#items.length && this.#deadline(this.#items[count]!) <= now) count++;
    const expired = this.#items.splice(0, count);
    this.#arm(now);
    if (expired.length > 0) this.#onExpired(expired);
  };

  /** Sets the timer for the oldest call, unless it is set or the clock is held. */
  #arm(now: number): void {
    const oldest = this.#items[0];
    if (this.#timer || this.#held || !oldest) return;
    // Not unref'd: while a call is parked, this timer is what will settle it.
    this.#timer = setTimeout(this.#expire, Math.max(0, this.#deadline(oldest) - now));
  }

  /** Parked in time order, calls keep their order under this deadline too. */
  #deadline(item: T): number {
    return Math.max(item.parkedAt, this.#releasedAt) + this.#waitMs;
  }

  #stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
