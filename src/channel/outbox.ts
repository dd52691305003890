/**
 * The channel's outgoing queue: encoded messages waiting for the next flush, in order, each with its
 * window cost and the buffers to transfer beside it, cut into frames of at most `maxBatchBytes`.
 *
 * Small messages are copied, as they are queued, into one arena, back to back: a frame then takes a
 * whole run of them with one copy, and queuing one allocates nothing (the encoder's scratch bytes are
 * copied straight in). Larger ones are kept as their own bytes and copied once, into their frame.
 */
import type { Encoder } from '../protocol/codec.js';
import type { Message } from '../protocol/messages.js';
import { headerLength, writeHeader } from './frame.js';
import { Buffer } from 'node:buffer';

export interface OutgoingFrame {
  /** The frame, `headroomBytes` into this buffer: the bytes before it are left free for the transport. */
  frame: Uint8Array;
  /** Messages in the frame. */
  messages: number;
  /** Buffers to transfer beside the frame, in the order its messages use them. */
  transfer: ArrayBuffer[] | undefined;
}

/** Frames up to this size are carved from Node's Buffer pool. */
const POOLED_FRAME_BYTES = 4096;
/** Messages up to this size go into the arena; larger ones keep their own bytes (no second copy). */
export const ARENA_MESSAGE_BYTES = 16 * 1024;
const INITIAL_ARENA_BYTES = 4 * 1024;
/** An emptied arena larger than this (after a backlog) is dropped for a small one. */
const MAX_IDLE_ARENA_BYTES = 256 * 1024;
/** Below this many bytes a copy is a plain loop: a typed-array view to copy from would cost more. */
const LOOP_COPY_BYTES = 64;

export class Outbox {
  readonly #headroomBytes: number;
  #arena = new Uint8Array(INITIAL_ARENA_BYTES);
  /** The queued arena bytes are `#arena[#arenaHead, #arenaEnd)`, in message order. */
  #arenaHead = 0;
  #arenaEnd = 0;
  /** For each message, its encoded size. */
  #sizes: number[] = [];
  /** For each message, its window cost if it is data, 0 if control. */
  #costs: number[] = [];
  /** The bytes of each message kept out of the arena, by index; created with the first. */
  #own: Map<number, Uint8Array> | undefined;
  /** For each message, the buffers it transfers; created with the first message that has any. */
  #transfers: (ArrayBuffer[] | undefined)[] | undefined;
  /**
   * A message queued unencoded (Channel's deferred plain message): only ever the one message queued, with
   * an upper bound of its encoded size for its size. Encoded with `encodeValue` before anything joins it.
   */
  #value: Message | undefined;
  /** Messages before this index have been taken. */
  #head = 0;
  #bytes = 0;
  #cost = 0;

  /** `headroomBytes`: free bytes left in front of every frame taken, for the transport's own prefix. */
  constructor(headroomBytes = 0) {
    this.#headroomBytes = headroomBytes;
  }

  /** Messages queued. */
  get length(): number {
    return this.#sizes.length - this.#head;
  }

  /** Encoded bytes queued (not counting transferred buffers). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Window cost of the data messages queued. */
  get cost(): number {
    return this.#cost;
  }

  /** Queues the encoder's last scratch encode: copied into the arena when small, kept when large. */
  pushEncoded(encoder: Encoder, cost: number, transfer?: ArrayBuffer[]): void {
    const size = encoder.scratchEnd - encoder.scratchStart;
    if (size > ARENA_MESSAGE_BYTES) {
      this.push(encoder.keep(), cost, transfer);
      return;
    }
    this.#copyIn(encoder.scratch, encoder.scratchStart, size);
    this.#record(size, cost, transfer);
  }

  /** Queues `message` unencoded, as the only message; `size` bounds its encoded size. */
  pushValue(message: Message, size: number, cost: number): void {
    if (this.length > 0) throw new Error('A message is queued unencoded only into an empty outbox');
    this.#record(size, cost, undefined);
    this.#value = message;
  }

  /** The message queued unencoded, while it is the only one. */
  get loneValue(): Message | undefined {
    return this.#value;
  }

  /** Encodes the message queued unencoded, if there is one, keeping its cost: it can then be batched. */
  encodeValue(encoder: Encoder): void {
    const message = this.#value;
    if (message === undefined) return;
    const cost = this.#cost;
    this.clear();
    encoder.encodeMessage(message);
    this.pushEncoded(encoder, cost);
  }

  /** Queues a message's own bytes (they must stay unchanged until taken). */
  push(bytes: Uint8Array, cost: number, transfer?: ArrayBuffer[]): void {
    (this.#own ??= new Map()).set(this.#sizes.length, bytes);
    this.#record(bytes.byteLength, cost, transfer);
  }

  /**
   * Takes the next frame from the head of the queue, behind a header acking `acked`: as many messages as
   * fit in `maxBatchBytes`, or one larger message alone. An empty queue gives a header-only frame (an ack).
   * The frame starts `headroomBytes` into the buffer returned.
   */
  take(acked: number, maxBatchBytes: number): OutgoingFrame {
    if (this.#value !== undefined) throw new Error('The outbox holds a message not yet encoded');
    const start = this.#head;
    const count = this.#sizes.length;
    let end = count;
    let bytes = this.#bytes;
    let cost = this.#cost;
    // The common case, everything at once from the arena, needs no walk over the messages.
    if (bytes > maxBatchBytes || this.#own !== undefined || this.#transfers !== undefined) {
      end = start;
      bytes = 0;
      cost = 0;
      while (end < count && (end === start || bytes + this.#sizes[end]! <= maxBatchBytes)) {
        bytes += this.#sizes[end]!;
        cost += this.#costs[end]!;
        end++;
      }
    }
    const headroom = this.#headroomBytes;
    const header = headerLength(acked, cost);
    const size = headroom + header + bytes;
    const transfer = this.#transfers && collectTransfers(this.#transfers, start, end);
    // A small frame comes from Node's Buffer pool (no buffer of its own to allocate; a MessagePort sends it
    // as a string). One that carries transferred buffers owns its buffer, so that it can move with them.
    const frame = !transfer && size <= POOLED_FRAME_BYTES ? Buffer.allocUnsafe(size) : new Uint8Array(size);
    writeHeader(frame, headroom, acked, cost);
    this.#copyOut(frame, headroom + header, start, end);
    this.#bytes -= bytes;
    this.#cost -= cost;
    this.#advance(end);
    return { frame, messages: end - start, transfer };
  }

  clear(): void {
    this.#value = undefined;
    this.#sizes = [];
    this.#costs = [];
    this.#own = undefined;
    this.#transfers = undefined;
    this.#head = 0;
    this.#bytes = 0;
    this.#cost = 0;
    this.#arenaHead = 0;
    this.#arenaEnd = 0;
    if (this.#arena.byteLength > MAX_IDLE_ARENA_BYTES) this.#arena = new Uint8Array(INITIAL_ARENA_BYTES);
  }

  #record(size: number, cost: number, transfer: ArrayBuffer[] | undefined): void {
    if (transfer) (this.#transfers ??= [])[this.#sizes.length] = transfer;
    this.#sizes.push(size);
    this.#costs.push(cost);
    this.#bytes += size;
    this.#cost += cost;
  }

  /** Appends `size` bytes of `source` from `offset` to the arena, growing it (and dropping taken bytes) if needed. */
  #copyIn(source: Uint8Array, offset: number, size: number): void {
    if (this.#arenaEnd + size > this.#arena.byteLength) {
      const live = this.#arenaEnd - this.#arenaHead;
      const grown = new Uint8Array(Math.max(this.#arena.byteLength * 2, live + size));
      grown.set(this.#arena.subarray(this.#arenaHead, this.#arenaEnd));
      this.#arena = grown;
      this.#arenaHead = 0;
      this.#arenaEnd = live;
    }
    copy(source, offset, this.#arena, this.#arenaEnd, size);
    this.#arenaEnd += size;
  }

  /** Writes messages `[start, end)` into `frame` from `at`: runs of arena messages in one copy each. */
  #copyOut(frame: Uint8Array, at: number, start: number, end: number): void {
    const own = this.#own;
    if (own === undefined) {
      const run = frame.byteLength - at;
      copy(this.#arena, this.#arenaHead, frame, at, run);
      this.#arenaHead += run;
      return;
    }
    let run = 0;
    for (let i = start; i < end; i++) {
      const bytes = own.get(i);
      if (bytes === undefined) {
        run += this.#sizes[i]!;
        continue;
      }
      if (run > 0) {
        copy(this.#arena, this.#arenaHead, frame, at, run);
        this.#arenaHead += run;
        at += run;
        run = 0;
      }
      frame.set(bytes, at);
      at += bytes.byteLength;
      own.delete(i);
    }
    if (run > 0) {
      copy(this.#arena, this.#arenaHead, frame, at, run);
      this.#arenaHead += run;
    }
  }

  #advance(head: number): void {
    this.#head = head;
    if (head === this.#sizes.length) this.clear();
    else if (head > 1024 && head * 2 > this.#sizes.length) {
      // Compact now and then instead of on every frame: a queue held up by a full transport drains in O(n).
      this.#sizes = this.#sizes.slice(head);
      this.#costs = this.#costs.slice(head);
      this.#transfers = this.#transfers?.slice(head);
      if (this.#own) this.#own = new Map([...this.#own].map(([index, bytes]) => [index - head, bytes]));
      this.#head = 0;
    }
  }
}

function collectTransfers(transfers: (ArrayBuffer[] | undefined)[], start: number, end: number): ArrayBuffer[] | undefined {
  let list: ArrayBuffer[] | undefined;
  for (let i = start; i < end; i++) {
    const buffers = transfers[i];
    if (buffers) (list ??= []).push(...buffers);
  }
  return list;
}

function copy(source: Uint8Array, from: number, target: Uint8Array, to: number, size: number): void {
  if (size <= LOOP_COPY_BYTES) {
    for (let i = 0; i < size; i++) target[to + i] = source[from + i]!;
  } else {
    target.set(source.subarray(from, from + size), to);
  }
}
