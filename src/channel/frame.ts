/**
 * A channel frame: a header `[acked, dataCost]` followed by the batch's messages, each encoded on its
 * own and concatenated (outbox.ts cuts them); or a value frame, the same for one plain message, as values.
 * Parsing is pure: no state and no I/O.
 */
import { ProtocolError } from '../errors.js';
import type { Decoder } from '../protocol/codec.js';
import { Kind, type Message } from '../protocol/messages.js';
import { validateMessage } from '../protocol/validate.js';
import type { ReceivedFrame, ValueFrame } from '../transport/transport.js';

export interface ParsedFrame {
  /** Window cost of our data the peer has handled since its last frame. */
  acked: number;
  /** Window cost of the data messages in this frame (what we ack once they are handled). */
  dataCost: number;
  /** Its messages in order, a run of calls taken apart; a run of notifies or replies is one message. */
  messages: Message[];
  /** Replies, calls and notifies (and other messages) the frame carried: a run counts as its messages. */
  count: number;
}

/**
 * Where parseFrame writes the size of each call and notify message (encoded, plus the buffers it
 * transferred; a notify run's whole, which the channel shares out), by its index in `messages` (reused
 * from frame to frame): a message whose handler holds its acknowledgement holds its own cost, not its
 * frame's. A typed array: a store into a plain array cost ~4% of parsing a frame of 500 notifies, this ~1%.
 */
export class MessageSizes {
  #sizes = new Uint32Array(256);

  set(index: number, size: number): void {
    if (index >= this.#sizes.length) this.#grow(index);
    this.#sizes[index] = size;
  }

  get(index: number): number {
    return this.#sizes[index]!;
  }

  /** A copy of the first `count` sizes, for a frame whose delivery outlives the next frame's parse. */
  snapshot(count: number): MessageSizes {
    const copy = new MessageSizes();
    copy.#sizes = this.#sizes.slice(0, Math.max(count, 1));
    return copy;
  }

  #grow(index: number): void {
    const grown = new Uint32Array(Math.max(index + 1, this.#sizes.length * 2));
    grown.set(this.#sizes);
    this.#sizes = grown;
  }
}

/**
 * Parses and validates a frame. Each value is checked as it is decoded and the frame is refused at the
 * first bad one (MessagePack expands: one 0x80 byte is a new object). Throws ProtocolError.
 */
export function parseFrame(
  decoder: Decoder,
  bytes: ReceivedFrame,
  transferred?: readonly ArrayBuffer[],
  sizes?: MessageSizes,
): ParsedFrame {
  // Frames of bytes are never arrays: any array is taken for a value frame, and checked as one.
  if (Array.isArray(bytes)) return parseValueFrame(bytes, sizes);
  let header: [number, number] | undefined;
  const messages: Message[] = [];
  let count = 0;
  try {
    decoder.decodeEach(
      bytes,
      (value, index, size) => {
        if (index > 0) {
          count += addMessage(messages, validateMessage(value), size, sizes);
          return true;
        }
        if (!Array.isArray(value) || value.length !== 2 || !isCount(value[0]) || !isCount(value[1])) {
          throw new ProtocolError('Frame without a valid header');
        }
        header = value as [number, number];
        return true;
      },
      transferred,
    );
  } catch (error) {
    // decodeEach wraps what the callback threw: report the validation error itself when there is one.
    throw error instanceof ProtocolError && error.cause instanceof ProtocolError ? error.cause : error;
  }
  if (!header) throw new ProtocolError('Empty frame');
  return { acked: header[0], dataCost: header[1], messages, count };
}

/** A value frame (transport.ts) carries its header and one message as values: checked as a decoded frame is. */
function parseValueFrame(frame: ValueFrame, sizes: MessageSizes | undefined): ParsedFrame {
  const [acked, dataCost, encodedBytes, message] = frame;
  if (frame.length !== 4 || !isCount(acked) || !isCount(dataCost) || !isCount(encodedBytes)) {
    throw new ProtocolError('Value frame without a valid header');
  }
  const messages: Message[] = [];
  const count = addMessage(messages, validateMessage(message), encodedBytes, sizes);
  return { acked, dataCost, messages, count };
}

/**
 * Adds a decoded message of `size` bytes, and returns how many it carried. A run of calls (`[Call, id,
 * method, args, args, ...]`, see Outbox.openRun) is taken apart into calls of their own, each with a share
 * of the run's size (the shares add up to it, as their costs did for the sender). A run of notifies and
 * one of replies stay whole: the channel hands a notify run to its listener in spans (Channel#deliver
 * shares its size out the same way), and the endpoint settles each reply of a run. Only a call or a notify
 * can hold its acknowledgement (Channel#ackWhenHandled), so only their sizes are kept.
 */
function addMessage(messages: Message[], message: Message, size: number, sizes: MessageSizes | undefined): number {
  const kind = message[0];
  if (kind === Kind.Call && message.length > 4) {
    const count = message.length - 3;
    for (let i = 3; i < message.length; i++) {
      sizes?.set(messages.length, runShare(size, count, i - 3));
      messages.push([Kind.Call, message[1] + i - 3, message[2], message[i] as unknown[]]);
    }
    return count;
  }
  if (sizes && kind <= Kind.Notify) sizes.set(messages.length, size);
  messages.push(message);
  return kind === Kind.Reply || kind === Kind.Notify ? message.length - 2 : 1;
}

/**
 * The share of a run's `size` that its element `index` (of `count`) holds: the division's, and the last one
 * what it leaves, so the shares add up to the size as the sender's charges did. Which element holds which
 * part matters not.
 */
export function runShare(size: number, count: number, index: number): number {
  const share = Math.floor(size / count);
  return index === count - 1 ? size - share * (count - 1) : share;
}

/** A frame's size in bytes; a value frame's is its sender's bound on its encoded size, with the header. */
export function frameLength(data: ReceivedFrame): number {
  if (typeof data === 'string') return data.length;
  if (!Array.isArray(data)) return data.byteLength;
  const [acked, dataCost, encodedBytes] = data;
  return isCount(acked) && isCount(dataCost) && isCount(encodedBytes) ? headerLength(acked, dataCost) + encodedBytes : 0;
}

function isCount(value: unknown): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/**
 * The header is written by hand, not by the codec: it is two counts, and a codec call per frame costs
 * more than the rest of a small frame's encoding. The bytes are ordinary MessagePack (a 2-array of
 * unsigned integers), so the frame decodes as before. Counts past 32 bits (a window of 4 GiB and more)
 * are written as float64, exact for every safe integer.
 */
export function headerLength(acked: number, dataCost: number): number {
  return 1 + uintLength(acked) + uintLength(dataCost);
}

/** Writes the header `[acked, dataCost]` into `frame` at `at` (it has `headerLength` bytes there for it). */
export function writeHeader(frame: Uint8Array, at: number, acked: number, dataCost: number): void {
  frame[at] = 0x92; // fixarray of 2
  writeUint(frame, writeUint(frame, at + 1, acked), dataCost);
}

function uintLength(value: number): number {
  return value < 0x80 ? 1 : value <= 0xff ? 2 : value <= 0xffff ? 3 : value <= 0xffffffff ? 5 : 9;
}

function writeUint(target: Uint8Array, at: number, value: number): number {
  if (value < 0x80) {
    target[at] = value;
    return at + 1;
  }
  if (value <= 0xff) {
    target[at] = 0xcc;
    target[at + 1] = value;
    return at + 2;
  }
  if (value <= 0xffff) {
    target[at] = 0xcd;
    target[at + 1] = value >>> 8;
    target[at + 2] = value & 0xff;
    return at + 3;
  }
  if (value <= 0xffffffff) {
    target[at] = 0xce;
    target[at + 1] = value >>> 24;
    target[at + 2] = (value >>> 16) & 0xff;
    target[at + 3] = (value >>> 8) & 0xff;
    target[at + 4] = value & 0xff;
    return at + 5;
  }
  target[at] = 0xcb;
  new DataView(target.buffer, target.byteOffset + at + 1, 8).setFloat64(0, value);
  return at + 9;
}
