import { shouldCompact } from '../queue-compaction.js';

const NO_BYTES = new Uint8Array(0);

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
  /**
   * A notify the tuple writer wrote, to this method: as it leaves the wait it may join a run of notifies
   * to the same method, or start one (see Outbox.openRun).
   */
  runMethod: string | undefined;
  resolve(): void;
  reject(error: Error): void;
}

export class WaitQueue {
  #items: Waiter[] = [];
  #head = 0;
  /** Waiters still in the queue: withdrawn ones stay in `#items`, marked, until the head passes them. */
  #live = 0;
  /** Withdrawn waiters still ahead of the head, in `#items`. */
  #withdrawn = 0;

  get length(): number {
    return this.#live;
  }

  /** Entries the queue's array holds: those waiting, and withdrawn ones not yet dropped (for tests of its memory). */
  get slots(): number {
    return this.#items.length - this.#head;
  }

  /** The waiters of calls by the promise `add` returned, for `placeOf` (notifies are never asked about). */
  readonly #byPromise = new WeakMap<Promise<void>, Waiter>();

  add(bytes: Uint8Array, size: number, isCall: boolean, transfer: ArrayBuffer[] | undefined, runMethod?: string): Promise<void> {
    let waiter!: Waiter;
    const promise = new Promise<void>((resolve, reject) => {
      waiter = { bytes, size, isCall, transfer, seq: 0, left: false, runMethod, resolve, reject };
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
    // Behind a message that cannot leave (a notify, a call without a deadline) the marked waiter stays
    // until the head passes it: without its bytes, and dropped once such waiters are most of the queue.
    // A call retried with a timeout behind a full window held every attempt's arguments (13 MB/s).
    waiter.bytes = NO_BYTES;
    waiter.transfer = undefined;
    if (++this.#withdrawn > 1024 && this.#withdrawn * 2 > this.#items.length - this.#head) this.#dropWithdrawn();
    waiter.reject(error);
    return true;
  }

  #dropWithdrawn(): void {
    this.#items = this.#items.slice(this.#head).filter((waiter) => !waiter.left);
    this.#head = 0;
    this.#withdrawn = 0;
  }

  /** The first message still waiting. */
  peek(): Waiter | undefined {
    // Only a withdrawn waiter can be marked and still ahead of the head (a released one is passed at once).
    while (this.#head < this.#items.length && this.#items[this.#head]!.left) {
      this.#withdrawn--;
      this.#advance();
    }
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
    if (shouldCompact(this.#head, this.#items.length)) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }

  rejectAll(error: Error): void {
    const items = this.#items.slice(this.#head);
    this.#items = [];
    this.#head = 0;
    this.#live = 0;
    this.#withdrawn = 0;
    for (const item of items) {
      if (item.left) continue;
      item.left = true;
      item.reject(error);
    }
  }
}
