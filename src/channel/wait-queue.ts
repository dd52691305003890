/** Encoded data messages that did not fit the window yet, in send order. */
export interface Waiter {
  bytes: Uint8Array;
  /** Encoded bytes plus the bytes transferred beside them. */
  size: number;
  isCall: boolean;
  transfer: ArrayBuffer[] | undefined;
  resolve(): void;
  reject(error: Error): void;
}

export class WaitQueue {
  #items: Waiter[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  add(bytes: Uint8Array, size: number, isCall: boolean, transfer: ArrayBuffer[] | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#items.push({ bytes, size, isCall, transfer, resolve, reject });
    });
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
