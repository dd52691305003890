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
 * - as its elements: numbers, booleans, null, undefined, ASCII strings of fewer than 256 characters;
 * - and, at the position of a call's or notify's arguments only, an array of at most 15 of those. The
 *   arguments array is the RPC layer's own (a remote method's rest parameters), so reading its elements
 *   here, and again in msgpackr when the path gives up, reads nothing a user could observe. Any other
 *   array, and every object, is left to msgpackr.
 * Anything else returns -1 having written nothing the caller keeps, and the message takes msgpackr.
 */
import { Kind } from './messages.js';

/**
 * Room the writer may need for one message: its header and 15 elements of up to 257 bytes (a str 8 of 255),
 * one of which may be an arguments array (its header and 15 such).
 */
export const TUPLE_WRITER_BYTES = 1 + 14 * 257 + 1 + 15 * 257;

const MAX_TUPLE_LENGTH = 15;
const MAX_ASCII_STRING = 255;

/**
 * Writes `message` into `target` from 0, which must have TUPLE_WRITER_BYTES of room; returns the bytes
 * written, or -1 when the message is not one the fast path takes.
 */
export function writeTuple(message: readonly unknown[], target: Uint8Array, view: DataView): number {
  const length = message.length;
  if (length > MAX_TUPLE_LENGTH) return -1;
  const kind = message[0];
  const argumentsAt = kind === Kind.Call ? 3 : kind === Kind.Notify ? 2 : -1;
  target[0] = 0x90 | length;
  let at = 1;
  for (let i = 0; i < length; i++) {
    const value = message[i];
    if (i === argumentsAt && Array.isArray(value)) at = writeArguments(value, target, view, at);
    else at = writePrimitive(value, target, view, at);
    if (at < 0) return -1;
  }
  return at;
}

function writeArguments(args: readonly unknown[], target: Uint8Array, view: DataView, at: number): number {
  const length = args.length;
  // msgpackr writes an array as one only when its constructor is Array (the rest parameters' always is).
  if (length > MAX_TUPLE_LENGTH || args.constructor !== Array) return -1;
  target[at++] = 0x90 | length;
  for (let i = 0; i < length && at >= 0; i++) at = writePrimitive(args[i], target, view, at);
  return at;
}

/** msgpackr's choices, in its order (pack.js): see the comments for where the format allows others. */
function writePrimitive(value: unknown, target: Uint8Array, view: DataView, at: number): number {
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
      return writeAscii(value, target, at);
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
      if (value !== null) return -1;
      target[at++] = 0xc0;
      return at;
    default:
      return -1;
  }
}

/** An ASCII string's bytes are its characters: a fixstr below 32, a str 8 below 256 (as msgpackr chooses by length). */
function writeAscii(value: string, target: Uint8Array, at: number): number {
  const length = value.length;
  if (length > MAX_ASCII_STRING) return -1;
  if (length < 0x20) target[at++] = 0xa0 | length;
  else {
    target[at++] = 0xd9;
    target[at++] = length;
  }
  for (let i = 0; i < length; i++) {
    const code = value.charCodeAt(i);
    if (code >= 0x80) return -1;
    target[at++] = code;
  }
  return at;
}
