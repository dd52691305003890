/**
 * The channel's outgoing queue: encoded messages waiting for the next flush, in order, each with its
 * window cost and the buffers to transfer beside it, cut into frames of at most `maxBatchBytes`.
 *
 * Small messages are copied, as they are queued, into one arena, back to back: a frame then takes a
 * whole run of them with one copy, and queuing one allocates nothing (the encoder's scratch bytes are
 * copied straight in). The commonest messages are not even copied: the channel's encoder writes them at
 * the arena's end (the outbox is its TupleTarget), where queuing one only counts it. Larger ones are
 * kept as their own bytes and copied once, into their frame.
 */
import type { Encoder, TupleTarget } from '../protocol/codec.js';
import type { Message } from '../protocol/messages.js';
import { MAX_STRING_BYTES, notifyArgumentsAt, writeArguments, writePrimitive } from '../protocol/tuple-writer.js';
import { headerLength, writeHeader } from './frame.js';
import { Buffer } from 'node:buffer';

export interface OutgoingFrame {
  /** The frame, `headroomBytes` into this buffer: the bytes before it are left free for the transport. */
  frame: Uint8Array;
  /** Messages in the frame (a run counted as one). */
  messages: number;
  /** Replies, calls and notifies in the frame that joined a run (see openRun): it carries `messages + joined`. */
  joined: number;
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
/** Room for this many messages' sizes and costs at first; a backlog's larger arrays are dropped once emptied. */
const INITIAL_MESSAGES = 64;
const MAX_IDLE_MESSAGES = 16 * 1024;
/** Below this many bytes a copy is a plain loop: a typed-array view to copy from would cost more. */
const LOOP_COPY_BYTES = 64;
/**
 * Room kept at the arena's end for the encoder to write a message in place: a call or notify with a short
 * method name and a few arguments takes tens of bytes; one that may need more is written elsewhere and
 * copied in.
 */
const TUPLE_ROOM_BYTES = 1024;
/** msgpack's fixarray header holds up to 15 elements: a reply run, `[Reply, id, ...values]`, ends at 13 values. */
const FIXARRAY = 0x90;
const MAX_FIXARRAY_LENGTH = 15;

export class Outbox implements TupleTarget {
  readonly #headroomBytes: number;
  #arena: Uint8Array = new Uint8Array(INITIAL_ARENA_BYTES);
  #arenaView: DataView = new DataView(this.#arena.buffer);
  /** Past this offset the arena has less than TUPLE_ROOM_BYTES left (kept: a typed array's length costs more to read). */
  #tupleRoomFrom = INITIAL_ARENA_BYTES - TUPLE_ROOM_BYTES;
  /** The queued arena bytes are `#arena[#arenaHead, #arenaEnd)`, in message order. */
  #arenaHead = 0;
  #arenaEnd = 0;
  /**
   * For each message, its encoded size and its window cost (0 for control), in `[0, #count)`: typed
   * arrays kept from batch to batch, so that queuing a message allocates nothing here either.
   */
  #sizes = new Float64Array(INITIAL_MESSAGES);
  #costs = new Float64Array(INITIAL_MESSAGES);
  /** For each message, the elements that joined it as a run (see openRun); their sum in `#joined`. */
  #joinedOf = new Float64Array(INITIAL_MESSAGES);
  #joined = 0;
  /** Messages queued since the last clear (taken ones included, up to `#head`). */
  #count = 0;
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
  /** The last message the encoder wrote in place, by index, and where in the arena its header is. */
  #inPlaceIndex = -1;
  #inPlaceAt = 0;
  /**
   * An open run: the message at `#runIndex`, written in place, takes more elements while nothing has been
   * queued behind it. A reply run takes the reply to call `#runNextId`; a call run the arguments of call
   * `#runNextId` to `#runMethod`; a notify run (`#runNextId` -1) the arguments of a notify to `#runMethod`.
   */
  #runIndex = -1;
  #runNextId = -1;
  #runMethod: string | undefined;

  /** `headroomBytes`: free bytes left in front of every frame taken, for the transport's own prefix. */
  constructor(headroomBytes = 0) {
    this.#headroomBytes = headroomBytes;
  }

  /** Messages queued. */
  get length(): number {
    return this.#count - this.#head;
  }

  /** Encoded bytes queued (not counting transferred buffers). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Window cost of the data messages queued. */
  get cost(): number {
    return this.#cost;
  }

  /**
   * Queues the encoder's last scratch encode: counted where the encoder wrote it in place (at the arena's
   * end), copied into the arena when small, kept when large.
   */
  pushEncoded(encoder: Encoder, cost: number, transfer?: ArrayBuffer[]): void {
    const size = encoder.scratchEnd - encoder.scratchStart;
    if (encoder.scratch === this.#arena && encoder.scratchStart === this.#arenaEnd) {
      this.#inPlaceIndex = this.#count;
      this.#inPlaceAt = this.#arenaEnd;
      this.#arenaEnd += size;
    } else if (size > ARENA_MESSAGE_BYTES) {
      this.push(encoder.keep(), cost, transfer);
      return;
    } else this.#copyIn(encoder.scratch, encoder.scratchStart, size);
    this.#record(size, cost, transfer);
  }

  /**
   * The message just queued is `[Reply, id, value]`, `[Call, id, method, args]` (`method` given) or
   * `[Notify, method, args]` (`id` -1): if the encoder wrote it in place, the next reply, call or notify
   * may join it, as one more element, while it is the last message queued (see `appendReply`,
   * `writeRunArguments`). Runs are for the commonest traffic, pipelined calls to synchronous handlers and
   * bursts of notifies: the receiver decodes each reply as one value instead of a message, and a call's or
   * notify's method once per run, so a run costs both ends less per message than the messages it holds.
   */
  openRun(id: number, method?: string): void {
    // Not when the message has left already (a lone one leaves as it is queued).
    if (this.#inPlaceIndex < this.#head || this.#inPlaceIndex !== this.#count - 1) return;
    this.#runIndex = this.#inPlaceIndex;
    this.#runNextId = id < 0 ? -1 : id + 1;
    this.#runMethod = method;
  }

  /**
   * Appends the reply to call `id` to the open reply run, `[Reply, firstId, value, value, ...]`, written in
   * place. False (nothing queued) when it cannot join: see `#runRoom`; another id; a value the tuple writer
   * does not take.
   */
  appendReply(id: number, value: unknown, maxBytes: number): boolean {
    if (id !== this.#runNextId || this.#runMethod !== undefined || !this.#runRoom()) return false;
    const end = writePrimitive(value, this.#arena, this.#arenaView, this.#arenaEnd);
    if (end < 0 || end - this.#inPlaceAt > maxBytes) return false;
    this.commitAppend(end - this.#arenaEnd, 0);
    return true;
  }

  /**
   * Writes the arguments of call `id` (or of a notify: `id` -1) to `method` where they would join the open
   * run, `[Call, firstId, method, args, args, ...]` or `[Notify, method, args, args, ...]`. Returns their
   * size, to be queued with `commitAppend` (the channel first asks its window), or -1 when they cannot
   * join: see `#runRoom`; another method or id; arguments the tuple writer does not take.
   */
  writeRunArguments(method: string, id: number, args: readonly unknown[], maxBytes: number): number {
    if (method !== this.#runMethod || id !== this.#runNextId || !this.#runRoom()) return -1;
    const end = writeArguments(args, this.#arena, this.#arenaView, this.#arenaEnd, this.#arena.length - MAX_STRING_BYTES);
    if (end < 0 || end - this.#inPlaceAt > maxBytes) return -1;
    return end - this.#arenaEnd;
  }

  /**
   * Copies the arguments of `bytes`, a notify to `method` the tuple writer wrote (one that waited for
   * room), to where they would join the open notify run; returns their size, to be queued with
   * `commitAppend`, or -1 when they cannot join (see `writeRunArguments`; or more than the room kept).
   */
  joinRunBytes(method: string, bytes: Uint8Array, maxBytes: number): number {
    if (method !== this.#runMethod || this.#runNextId !== -1 || !this.#runRoom()) return -1;
    const from = notifyArgumentsAt(bytes);
    const size = bytes.byteLength - from;
    if (size > TUPLE_ROOM_BYTES || this.#arenaEnd + size - this.#inPlaceAt > maxBytes) return -1;
    copy(bytes, from, this.#arena, this.#arenaEnd, size);
    return size;
  }

  /**
   * Queues the bytes of a message the tuple writer wrote elsewhere (one that waited for room), copied into
   * the arena, where a run may extend it as it does a message written in place (see `openRun`). A notify the
   * tuple writer wrote is at most ~12.3 KB (a method and 15 arguments, strings of up to 768 bytes each),
   * below ARENA_MESSAGE_BYTES: the arena is where such bytes belong.
   */
  pushTuple(bytes: Uint8Array, cost: number): void {
    this.#copyIn(bytes, 0, bytes.byteLength);
    this.#inPlaceIndex = this.#count;
    this.#inPlaceAt = this.#arenaEnd - bytes.byteLength;
    this.#record(bytes.byteLength, cost, undefined);
  }

  /** Queues the `size` bytes just written at the arena's end as the open run's next element, at `cost`. */
  commitAppend(size: number, cost: number): void {
    const index = this.#runIndex;
    this.#arena[this.#inPlaceAt]++;
    this.#arenaEnd += size;
    this.#sizes[index] += size;
    this.#costs[index] += cost;
    this.#bytes += size;
    this.#cost += cost;
    this.#joinedOf[index]++;
    this.#joined++;
    if (this.#runNextId >= 0) this.#runNextId++;
  }

  /**
   * Whether the open run may take one more element: it is still the last message queued and not taken,
   * its fixarray header counts fewer than 15 elements, and the arena has the room a message written in
   * place has. A run is never longer than a message the peer takes (`maxBytes` in the appends).
   */
  #runRoom(): boolean {
    const index = this.#runIndex;
    return (
      index === this.#count - 1 &&
      index >= this.#head &&
      this.#arenaEnd <= this.#tupleRoomFrom &&
      this.#arena[this.#inPlaceAt]! - FIXARRAY < MAX_FIXARRAY_LENGTH
    );
  }

  /** TupleTarget: the encoder writes the next small message at the arena's end, which has room for it. */
  reserveTuple(): void {
    if (this.#arenaEnd > this.#tupleRoomFrom) this.#makeRoom(TUPLE_ROOM_BYTES);
  }

  get tupleBuffer(): Uint8Array {
    return this.#arena;
  }

  get tupleView(): DataView {
    return this.#arenaView;
  }

  get tupleStart(): number {
    return this.#arenaEnd;
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
    (this.#own ??= new Map()).set(this.#count, bytes);
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
    const count = this.#count;
    let end = count;
    let bytes = this.#bytes;
    let cost = this.#cost;
    let joined = this.#joined;
    // The common case, everything at once from the arena, needs no walk over the messages.
    if (bytes > maxBatchBytes || this.#own !== undefined || this.#transfers !== undefined) {
      end = start;
      bytes = 0;
      cost = 0;
      joined = 0;
      while (end < count && (end === start || bytes + this.#sizes[end]! <= maxBatchBytes)) {
        bytes += this.#sizes[end]!;
        cost += this.#costs[end]!;
        joined += this.#joinedOf[end]!;
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
    this.#joined -= joined;
    this.#advance(end);
    return { frame, messages: end - start, joined, transfer };
  }

  clear(): void {
    this.#value = undefined;
    this.#count = 0;
    this.#inPlaceIndex = this.#runIndex = -1;
    this.#joined = 0;
    if (this.#sizes.length > MAX_IDLE_MESSAGES) {
      this.#sizes = new Float64Array(INITIAL_MESSAGES);
      this.#costs = new Float64Array(INITIAL_MESSAGES);
      this.#joinedOf = new Float64Array(INITIAL_MESSAGES);
    }
    this.#own = undefined;
    this.#transfers = undefined;
    this.#head = 0;
    this.#bytes = 0;
    this.#cost = 0;
    this.#arenaHead = 0;
    this.#arenaEnd = 0;
    if (this.#arena.byteLength > MAX_IDLE_ARENA_BYTES) this.#setArena(new Uint8Array(INITIAL_ARENA_BYTES));
  }

  #record(size: number, cost: number, transfer: ArrayBuffer[] | undefined): void {
    const index = this.#count;
    if (transfer) (this.#transfers ??= [])[index] = transfer;
    if (index === this.#sizes.length) this.#growCounts();
    this.#sizes[index] = size;
    this.#costs[index] = cost;
    this.#joinedOf[index] = 0;
    this.#count = index + 1;
    this.#bytes += size;
    this.#cost += cost;
  }

  #growCounts(): void {
    const sizes = new Float64Array(this.#sizes.length * 2);
    const costs = new Float64Array(this.#costs.length * 2);
    const joinedOf = new Float64Array(this.#joinedOf.length * 2);
    sizes.set(this.#sizes);
    costs.set(this.#costs);
    joinedOf.set(this.#joinedOf);
    this.#sizes = sizes;
    this.#costs = costs;
    this.#joinedOf = joinedOf;
  }

  /** Appends `size` bytes of `source` from `offset` to the arena. */
  #copyIn(source: Uint8Array, offset: number, size: number): void {
    if (this.#arenaEnd + size > this.#arena.byteLength) this.#makeRoom(size);
    copy(source, offset, this.#arena, this.#arenaEnd, size);
    this.#arenaEnd += size;
  }

  /**
   * Makes room for `size` more bytes at the arena's end, dropping the bytes already taken: in place when
   * what is left fits in half of it, else in an arena twice what is needed. Sized from what is left, not
   * from the arena: a queue that never empties (a slow peer, a full transport) would otherwise double it
   * each time its end came round, however little of it was still queued.
   */
  #makeRoom(size: number): void {
    const live = this.#arenaEnd - this.#arenaHead;
    const needed = live + size;
    if (needed <= this.#arena.byteLength / 2) {
      this.#arena.copyWithin(0, this.#arenaHead, this.#arenaEnd);
    } else {
      const grown = new Uint8Array(Math.max(2 * needed, INITIAL_ARENA_BYTES));
      grown.set(this.#arena.subarray(this.#arenaHead, this.#arenaEnd));
      this.#setArena(grown);
    }
    // The last in-place message moved with the rest (its index stays).
    this.#inPlaceAt -= this.#arenaHead;
    this.#arenaHead = 0;
    this.#arenaEnd = live;
  }

  /** The arena's size: what the queue holds in memory for its small messages, taken or not. */
  get arenaBytes(): number {
    return this.#arena.byteLength;
  }

  #setArena(arena: Uint8Array): void {
    this.#arena = arena;
    this.#arenaView = new DataView(arena.buffer);
    this.#tupleRoomFrom = arena.byteLength - TUPLE_ROOM_BYTES;
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
    if (head === this.#count) this.clear();
    else if (head > 1024 && head * 2 > this.#count) {
      // Compact now and then instead of on every frame: a queue held up by a full transport drains in O(n).
      this.#sizes.copyWithin(0, head, this.#count);
      this.#costs.copyWithin(0, head, this.#count);
      this.#joinedOf.copyWithin(0, head, this.#count);
      this.#count -= head;
      this.#inPlaceIndex = this.#runIndex = -1;
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
