/**
 * The codec's fast path for the messages a channel carries most: small tuples of primitives, such as
 * `[Call, 7, 'inc', [1]]` or `[Reply, 7, 2]`. It writes them straight into a buffer, in a few
 * nanoseconds, where msgpackr's `pack` spends most of its time setting up and finishing one encode
 * (~80 ns per message against ~25 here, measured on this repository's machine).
 *
 * It writes exactly the bytes msgpackr writes, with the codec's options, for every message it takes
 * (test/protocol-tuple-writer.test.ts checks that on random messages), so the decoder never tells them
 * apart and nothing about a value changes with the path it took. It takes:
 * - a message: an array of at most 15 elements;
 * - as its elements: numbers, booleans, null, undefined, strings of up to 255 UTF-16 code units;
 * - and, at the position of a call's or notify's arguments only, an array of at most 15 of those. The
 *   arguments array is the RPC layer's own (a remote method's rest parameters), so reading its elements
 *   here, and again in msgpackr when the path gives up, reads nothing a user could observe. Any other
 *   array, and every object, is left to msgpackr.
 * Anything else returns NOT_TAKEN having written nothing the caller keeps, and the message takes msgpackr.
 */
import { Kind } from './messages.js';

/** A string's longest encoding: 255 code units of up to 3 UTF-8 bytes each, behind a str 16 header. */
export const MAX_STRING_BYTES = 3 + 3 * 255;
/**
 * Room the writer may need for one message: its header and 15 elements of up to MAX_STRING_BYTES, one of
 * which may be an arguments array (its header and 15 such).
 */
export const TUPLE_WRITER_BYTES = 1 + 14 * MAX_STRING_BYTES + 1 + 15 * MAX_STRING_BYTES;

const MAX_TUPLE_LENGTH = 15;
const MAX_STRING_UNITS = 255;

/** `writeTuple`: the message is not one the fast path takes. */
export const NOT_TAKEN = -1;
/** `writeTuple`: the message may not fit in the room the target has; it fits in TUPLE_WRITER_BYTES. */
export const NO_ROOM = -2;

/**
 * Writes `message` into `target` from `start`; returns where the bytes written end, NOT_TAKEN, or NO_ROOM
 * when an element could overrun `target` (never with TUPLE_WRITER_BYTES of room from `start`). Bytes
 * written before a refusal are left there, to be written over.
 */
export function writeTuple(message: readonly unknown[], target: Uint8Array, view: DataView, start = 0): number {
  const length = message.length;
  if (length > MAX_TUPLE_LENGTH) return NOT_TAKEN;
  const kind = message[0];
  const argumentsAt = kind === Kind.Call ? 3 : kind === Kind.Notify ? 2 : -1;
  // Room is checked once per element, against the largest one (a string), not byte by byte.
  const last = target.length - MAX_STRING_BYTES;
  target[start] = 0x90 | length;
  let at = start + 1;
  for (let i = 0; i < length; i++) {
    if (at > last) return NO_ROOM;
    const value = message[i];
    if (i === argumentsAt && Array.isArray(value)) at = writeArguments(value, target, view, at, last);
    else at = writePrimitive(value, target, view, at);
    if (at < 0) return at;
  }
  return at;
}

/**
 * Writes a call's or notify's arguments array at `at`; returns where it ends, NOT_TAKEN, or NO_ROOM when an
 * element could start past `last` (the target's length less MAX_STRING_BYTES).
 */
export function writeArguments(args: readonly unknown[], target: Uint8Array, view: DataView, at: number, last: number): number {
  const length = args.length;
  // msgpackr writes an array as one only when its constructor is Array (the rest parameters' always is).
  if (length > MAX_TUPLE_LENGTH || args.constructor !== Array) return NOT_TAKEN;
  target[at++] = 0x90 | length;
  for (let i = 0; i < length && at >= 0; i++) {
    if (at > last) return NO_ROOM;
    at = writePrimitive(args[i], target, view, at);
  }
  return at;
}

/**
 * Writes one element the fast path takes (a number, boolean, null, undefined, or a string of up to 255
 * code units) at `at`, which must have MAX_STRING_BYTES of room; returns where it ends, or NOT_TAKEN.
 * msgpackr's choices, in its order (pack.js): see the comments for where the format allows others.
 */
export function writePrimitive(value: unknown, target: Uint8Array, view: DataView, at: number): number {
  switch (typeof value) {
    case 'number':
      if (value >>> 0 === value) {
        // Not 0x40-0x7f: with records on, msgpackr reads those bytes as references to record definitions.
        // (-0 passes this test too: msgpackr writes it as the integer 0.)
        if (value < 0x40) target[at++] = value;
        else if (value < 0x100) {
          target[at++] = 0xcc;
          target[at++] = value;
        } else if (value < 0x10000) {
          target[at++] = 0xcd;
          target[at++] = value >> 8;
          target[at++] = value & 0xff;
        } else {
          target[at++] = 0xce;
          view.setUint32(at, value);
          at += 4;
        }
      } else if (value >> 0 === value) {
        if (value >= -0x20) target[at++] = 0x100 + value;
        else if (value >= -0x80) {
          target[at++] = 0xd0;
          target[at++] = value + 0x100;
        } else if (value >= -0x8000) {
          target[at++] = 0xd1;
          view.setInt16(at, value);
          at += 2;
        } else {
          target[at++] = 0xd2;
          view.setInt32(at, value);
          at += 4;
        }
      } else {
        target[at++] = 0xcb;
        view.setFloat64(at, value);
        at += 8;
      }
      return at;
    case 'string':
      return writeString(value, target, at);
    case 'boolean':
      target[at++] = value ? 0xc3 : 0xc2;
      return at;
    case 'undefined':
      // The codec has no encodeUndefinedAsNil: a fixext 1 of type 0.
      target[at++] = 0xd4;
      target[at++] = 0;
      target[at++] = 0;
      return at;
    case 'object':
      if (value !== null) return NOT_TAKEN;
      target[at++] = 0xc0;
      return at;
    default:
      return NOT_TAKEN;
  }
}

/**
 * Where the arguments of a notify the tuple writer wrote start: behind its fixarray header, its kind and its
 * method, a string with a header of 1, 2 or 3 bytes (writeString, below). The method is always a string:
 * Endpoint.notify reads it as one before anything is queued.
 */
export function notifyArgumentsAt(bytes: Uint8Array): number {
  const header = bytes[2]!;
  if (header === 0xd9) return 4 + bytes[3]!;
  if (header === 0xda) return 5 + ((bytes[3]! << 8) | bytes[4]!);
  return 3 + (header & 0x1f);
}

/**
 * A string as msgpackr writes it: UTF-8, a lone surrogate as U+FFFD (as its own loop and Buffer's
 * `utf8Write` both do), behind the smallest header for the encoded length. ASCII, the common case, is
 * copied as it is, in a loop of its own (writeUtf8 alone, which handles ASCII too, made a small message's
 * encode ~8% slower); the rest is encoded after the header the length in code units suggests, and moved
 * along if the encoded length needs a larger one.
 */
function writeString(value: string, target: Uint8Array, at: number): number {
  const units = value.length;
  if (units > MAX_STRING_UNITS) return NOT_TAKEN;
  const guessed = units < 0x20 ? 1 : 2;
  let end = at + guessed;
  let i = 0;
  for (; i < units; i++) {
    const code = value.charCodeAt(i);
    if (code >= 0x80) break;
    target[end++] = code;
  }
  if (i < units) end = writeUtf8(value, i, target, end);
  const bytes = end - at - guessed;
  // More bytes than code units only ever need a larger header, never a smaller one.
  const header = bytes < 0x20 ? 1 : bytes < 0x100 ? 2 : 3;
  if (header !== guessed) {
    target.copyWithin(at + header, at + guessed, end);
    end += header - guessed;
  }
  if (header === 1) target[at] = 0xa0 | bytes;
  else if (header === 2) {
    target[at] = 0xd9;
    target[at + 1] = bytes;
  } else {
    target[at] = 0xda;
    target[at + 1] = bytes >> 8;
    target[at + 2] = bytes & 0xff;
  }
  return end;
}

/** Encodes `value` from code unit `from` as UTF-8 at `at`, as msgpackr's loop does; returns where it ends. */
function writeUtf8(value: string, from: number, target: Uint8Array, at: number): number {
  const units = value.length;
  for (let i = from; i < units; i++) {
    let code = value.charCodeAt(i);
    let next: number;
    if (code < 0x80) target[at++] = code;
    else if (code < 0x800) {
      target[at++] = (code >> 6) | 0xc0;
      target[at++] = (code & 0x3f) | 0x80;
    } else if ((code & 0xfc00) === 0xd800 && ((next = value.charCodeAt(i + 1)) & 0xfc00) === 0xdc00) {
      code = 0x10000 + ((code & 0x03ff) << 10) + (next & 0x03ff);
      i++;
      target[at++] = (code >> 18) | 0xf0;
      target[at++] = ((code >> 12) & 0x3f) | 0x80;
      target[at++] = ((code >> 6) & 0x3f) | 0x80;
      target[at++] = (code & 0x3f) | 0x80;
    } else if ((code & 0xf800) === 0xd800) {
      target[at++] = 0xef;
      target[at++] = 0xbf;
      target[at++] = 0xbd;
    } else {
      target[at++] = (code >> 12) | 0xe0;
      target[at++] = ((code >> 6) & 0x3f) | 0x80;
      target[at++] = (code & 0x3f) | 0x80;
    }
  }
  return at;
}
