/**
 * The channel's outgoing queue: encoded messages waiting for the next flush, in order, each with its
 * window cost and the buffers to transfer beside it, cut into frames of at most `maxBatchBytes`.
 */
import type { Encoder } from '../protocol/codec.js';
import { buildFrame } from './frame.js';

export interface OutgoingFrame {
  frame: Uint8Array;
  /** Messages in the frame. */
  messages: number;
  /** Buffers to transfer beside the frame, in the order its messages use them. */
  transfer: ArrayBuffer[] | undefined;
}

export class Outbox {
  #parts: Uint8Array[] = [];
  /** For each message, its window cost if it is data, 0 if control. */
  #costs: number[] = [];
  /** For each message, the buffers it transfers; created with the first message that has any. */
  #transfers: (ArrayBuffer[] | undefined)[] | undefined;
  /** Messages before this index have been taken. */
  #head = 0;
  #bytes = 0;

  /** Messages queued. */
  get length(): number {
    return this.#parts.length - this.#head;
  }

  /** Encoded bytes queued (not counting transferred buffers). */
  get bytes(): number {
    return this.#bytes;
  }

  push(bytes: Uint8Array, cost: number, transfer?: ArrayBuffer[]): void {
    if (transfer) (this.#transfers ??= [])[this.#parts.length] = transfer;
    this.#parts.push(bytes);
    this.#costs.push(cost);
    this.#bytes += bytes.byteLength;
  }

  /**
   * Takes the next frame from the head of the queue, behind a header acking `acked`: as many messages as
   * fit in `maxBatchBytes`, or one larger message alone. An empty queue gives a header-only frame (an ack).
   */
  take(encoder: Encoder, acked: number, maxBatchBytes: number): OutgoingFrame {
    const parts = this.#parts;
    const start = this.#head;
    let end = start;
    let bytes = 0;
    let cost = 0;
    let transfer: ArrayBuffer[] | undefined;
    while (end < parts.length && (end === start || bytes + parts[end]!.byteLength <= maxBatchBytes)) {
      bytes += parts[end]!.byteLength;
      cost += this.#costs[end]!;
      const buffers = this.#transfers?.[end];
      if (buffers) (transfer ??= []).push(...buffers);
      end++;
    }
    const frame = buildFrame(encoder, acked, cost, parts, start, end);
    this.#bytes -= bytes;
    this.#advance(end);
    return { frame, messages: end - start, transfer };
  }

  clear(): void {
    this.#parts = [];
    this.#costs = [];
    this.#transfers = undefined;
    this.#head = 0;
    this.#bytes = 0;
  }

  #advance(head: number): void {
    this.#head = head;
    if (head === this.#parts.length) this.clear();
    else if (head > 1024 && head * 2 > this.#parts.length) {
      // Compact now and then instead of on every frame: a queue held up by a full transport drains in O(n).
      this.#parts = this.#parts.slice(head);
      this.#costs = this.#costs.slice(head);
      this.#transfers = this.#transfers?.slice(head);
      this.#head = 0;
    }
  }
}
