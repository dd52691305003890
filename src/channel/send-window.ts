/**
 * What a channel may still send. A data message (call, notify) costs its size plus MESSAGE_OVERHEAD_BYTES
 * against `maxQueuedBytes` until the peer acks it, and a call holds a place in `maxInFlight` until its
 * reply. Data messages that do not fit wait here, in order, keeping their place ahead of later ones.
 * Control messages (replies, faults, cancels, pings) never pass through the window.
 */
import { WaitQueue, type Waiter } from './wait-queue.js';

/**
 * What one data message counts against the window beyond its encoded size: a pending handler costs the
 * receiver about this much heap (promise, closures, decoded arguments), so a window of tiny notifies
 * bounds the receiver's memory too, not only the bytes in transit.
 */
export const MESSAGE_OVERHEAD_BYTES = 1024;

export class SendWindow {
  /** Data cost queued or sent and not yet acked by the peer. */
  bytes = 0;
  /** Calls sent and not yet answered. */
  inFlight = 0;
  readonly #waiting = new WaitQueue();
  readonly #maxQueuedBytes: number;
  readonly #maxInFlight: number;

  constructor(options: { maxQueuedBytes: number; maxInFlight: number }) {
    this.#maxQueuedBytes = options.maxQueuedBytes;
    this.#maxInFlight = options.maxInFlight;
  }

  /**
   * The place in the send order given to the message whose wait `promise` is, once it was queued to leave
   * (undefined while it waits, or if it never was).
   */
  placeOf(promise: Promise<void>): number | undefined {
    return this.#waiting.placeOf(promise);
  }

  /** Data messages waiting for room. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Whether a message of `size` bytes may go now: nothing waits ahead of it, and it fits. */
  admits(size: number, isCall: boolean): boolean {
    return this.#waiting.length === 0 && this.#fits(size, isCall);
  }

  /** Counts an accepted data message of `size` bytes against the window; returns its cost. */
  charge(size: number): number {
    const cost = size + MESSAGE_OVERHEAD_BYTES;
    this.bytes += cost;
    return cost;
  }

  /** The peer acked `cost` of our data. */
  credit(cost: number): void {
    this.bytes = Math.max(0, this.bytes - cost);
  }

  /** Queues a message that does not fit yet; the promise settles when it is released (or rejected). */
  wait(bytes: Uint8Array, size: number, isCall: boolean, transfer: ArrayBuffer[] | undefined, runMethod?: string): Promise<void> {
    return this.#waiting.add(bytes, size, isCall, transfer, runMethod);
  }

  /** Takes back a call still waiting for room (see WaitQueue.withdraw). */
  withdraw(promise: Promise<void>, error: Error): boolean {
    return this.#waiting.withdraw(promise, error);
  }

  /** Hands waiting messages to `accept`, in order, while they fit; each one's promise resolves after. */
  release(accept: (waiter: Waiter) => void): void {
    let next = this.#waiting.peek();
    while (next && this.#fits(next.size, next.isCall)) {
      this.#waiting.shift();
      accept(next);
      next.resolve();
      next = this.#waiting.peek();
    }
  }

  rejectAll(error: Error): void {
    this.#waiting.rejectAll(error);
  }

  #fits(size: number, isCall: boolean): boolean {
    if (isCall && this.inFlight >= this.#maxInFlight) return false;
    // A message larger than the whole window still goes when nothing else is outstanding.
    return this.bytes === 0 || this.bytes + size + MESSAGE_OVERHEAD_BYTES <= this.#maxQueuedBytes;
  }
}
