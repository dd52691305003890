/** Encoded data messages that did not fit the window yet, in send order. */
export interface Waiter {
  bytes: Uint8Array;
  /** Encoded bytes plus the bytes transferred beside them. */
  size: number;
  isCall: boolean;
  transfer: ArrayBuffer[] | undefined;
  /** Its place in the send order, set by the channel when it is queued to leave; 0 while it waits. */
  seq: number;
  resolve(): void;
  reject(error: Error): void;
}

export class WaitQueue {
  #items: Waiter[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  /** The waiters of calls by the promise `add` returned, for `placeOf` (notifies are never asked about). */
  readonly #byPromise = new WeakMap<Promise<void>, Waiter>();

  add(bytes: Uint8Array, size: number, isCall: boolean, transfer: ArrayBuffer[] | undefined): Promise<void> {
    let waiter!: Waiter;
    const promise = new Promise<void>((resolve, reject) => {
      waiter = { bytes, size, isCall, transfer, seq: 0, resolve, reject };
      this.#items.push(waiter);
    });
    if (isCall) this.#byPromise.set(promise, waiter);
    return promise;
  }

  /** The place in the send order of the message whose wait `promise` is (undefined if it never had one). */
  placeOf(promise: Promise<void>): number | undefined {
    return this.#byPromise.get(promise)?.seq;
  }

  /**
   * Takes the message whose wait `promise` is out of the queue, if it is still in it (calls only); its
   * promise rejects with `error`. False once it has been released, or if it never waited.
   */
  withdraw(promise: Promise<void>, error: Error): boolean {
    const waiter = this.#byPromise.get(promise);
    if (waiter?.seq !== 0) return false;
    const index = this.#items.indexOf(waiter, this.#head);
    if (index < 0) return false;
    this.#items.splice(index, 1);
    this.#byPromise.delete(promise);
    waiter.reject(error);
    return true;
  }

  peek(): Waiter | undefined {
    return this.#items[this.#head];
  }

  shift(): void {
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
    for (const item of items) item.reject(error);
  }
}
