/** Encoded data messages that did not fit the window yet, in send order. */
export interface Waiter {
  bytes: Uint8Array;
  /** Encoded bytes plus the bytes transferred beside them. */
  size: number;
  isCall: boolean;
  transfer: ArrayBuffer[] | undefined;
  /** Its place in the send order, set by the channel when it is queued to leave; 0 while it waits. */
  seq: number;
  /** It has left the queue: released to the channel, or withdrawn. */
  left: boolean;
  resolve(): void;
  reject(error: Error): void;
}

export class WaitQueue {
  #items: Waiter[] = [];
  #head = 0;
  /** Waiters still in the queue: withdrawn ones stay in `#items`, marked, until the head passes them. */
  #live = 0;

  get length(): number {
    return this.#live;
  }

  /** The waiters of calls by the promise `add` returned, for `placeOf` (notifies are never asked about). */
  readonly #byPromise = new WeakMap<Promise<void>, Waiter>();

  add(bytes: Uint8Array, size: number, isCall: boolean, transfer: ArrayBuffer[] | undefined): Promise<void> {
    let waiter!: Waiter;
    const promise = new Promise<void>((resolve, reject) => {
      waiter = { bytes, size, isCall, transfer, seq: 0, left: false, resolve, reject };
      this.#items.push(waiter);
    });
    this.#live++;
    if (isCall) this.#byPromise.set(promise, waiter);
    return promise;
  }

  /** The place in the send order of the message whose wait `promise` is (undefined if it never had one). */
  placeOf(promise: Promise<void>): number | undefined {
    return this.#byPromise.get(promise)?.seq;
  }

  /**
   * Takes the message whose wait `promise` is out of the queue, if it is still in it (calls only); its
   * promise rejects with `error`. False once it has been released, or if it never waited. O(1): it is
   * only marked, and passed over when it reaches the head (a backlog of calls that all time out at once
   * would otherwise cost a search and a splice each).
   */
  withdraw(promise: Promise<void>, error: Error): boolean {
    const waiter = this.#byPromise.get(promise);
    if (!waiter || waiter.left) return false;
    waiter.left = true;
    this.#live--;
    this.#byPromise.delete(promise);
    waiter.reject(error);
    return true;
  }

  /** The first message still waiting. */
  peek(): Waiter | undefined {
    while (this.#head < this.#items.length && this.#items[this.#head]!.left) this.#advance();
    return this.#items[this.#head];
  }

  /** Releases the message `peek` gave. */
  shift(): void {
    this.#items[this.#head]!.left = true;
    this.#live--;
    this.#advance();
  }

  #advance(): void {
    this.#head++;
    // Compact now and then instead of Array#shift on every message: a long queue drains in O(n).
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }

  rejectAll(error: Error): void {
    const items = this.#items.slice(this.#head);
    this.#items = [];
    this.#head = 0;
    this.#live = 0;
    for (const item of items) {
      if (item.left) continue;
      item.left = true;
      item.reject(error);
    }
  }
}
