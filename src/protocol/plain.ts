/**
 * Plain messages: small ones that structured clone and the codec carry to exactly the same value, so a
 * MessagePort may post one as it is instead of its encoding (a value frame; see Channel).
 *
 * A message is plain when each of its elements is plain, to MAX_PLAIN_DEPTH levels of nesting:
 * - `undefined`, `null`, a boolean, a number other than -0 (the codec writes -0 as the integer 0), or a
 *   well-formed string (the codec writes UTF-8, which has no lone surrogate; clone would keep one);
 * - an array of plain values that is an ordinary `Array`, dense, with no property besides its elements
 *   (clone keeps holes and extra properties; the codec writes `length` elements and nothing else);
 * - an object of plain values whose prototype is `Object.prototype`, with well-formed string keys. Both
 *   sides make it an ordinary object with the same keys in the same order. Other objects are not plain:
 *   the codec calls the `toJSON` of a class instance (or the `toJSON` key of a null-prototype object),
 *   which clone ignores.
 * Neither container may be a Proxy (clone refuses one), nor have an enumerable property with a getter:
 * the check reads each value once and clone reads it again, so a getter could answer differently, or
 * throw, the second time. Both sides skip symbol keys and non-enumerable properties, so those do not
 * matter. A few keys are not plain, because msgpackr treats them apart: `__proto__` (decoded as
 * `__proto_`), `constructor` (the encoder tells a plain object by `value.constructor === Object`, and
 * otherwise may call a `toJSON` key), `hasOwnProperty` (the encoder filters inherited keys with
 * `object.hasOwnProperty`) and `__keys__` (the encoder's cache of records keeps their keys under that name).
 * The arguments array of a call is the exception: see argumentsBytes.
 * Anything else — Maps, BigInts, buffers, deeper nesting, larger messages (a cycle, which clone carries
 * and the codec cannot, is past both bounds) — is left to the codec, whose rules then apply on every
 * transport alike.
 *
 * A plain message is queued as a copy (copyPlainMessage), as an encoded one is queued as its bytes: it
 * leaves at the flush, and what crosses must be what the sender passed, not what it made of it since.
 */
import { isProxy } from 'node:util/types';
import { Kind } from './messages.js';

/** Plain messages are small: past this bound on its encoded size, a message is encoded as usual. */
export const MAX_PLAIN_BYTES = 1024;

/**
 * How deep arrays and objects may nest in a plain message, the message being depth 0: the arguments
 * array of a call is at depth 1, an object argument at depth 2, and its values may nest two levels more.
 */
export const MAX_PLAIN_DEPTH = 4;

/**
 * Annex B's `__lookupGetter__`: whether an own property is an accessor with a getter, without allocating
 * a descriptor. Taken once, so that a later change to `Object.prototype` cannot stand in for it.
 */
const lookupGetter = (Object.prototype as { __lookupGetter__(key: PropertyKey): unknown }).__lookupGetter__;

/**
 * An upper bound on the encoded size of `message` when it is plain (headers and UTF-8 at their longest,
 * each object's record defined anew), or -1 when it is not plain or its bound passes MAX_PLAIN_BYTES.
 */
export function plainMessageBytes(message: readonly unknown[]): number {
  const kind = message[0];
  const argumentsAt = kind === Kind.Call ? 3 : kind === Kind.Notify ? 2 : -1;
  let bytes = arrayHeaderBytes(message.length);
  for (let i = 0; i < message.length; i++) {
    const roomBytes = MAX_PLAIN_BYTES - bytes;
    const size = i === argumentsAt ? argumentsBytes(message[i], roomBytes) : plainBytes(message[i], 1, roomBytes);
    if (size < 0) return -1;
    bytes += size;
  }
  return bytes;
}

/**
 * The arguments array of a call is the RPC layer's own (a remote method's rest parameters), and what the
 * receiver does with it is `apply`, which reads its elements and nothing else: its elements are checked,
 * but not whether it is a Proxy or has accessors or other properties, which rest parameters never are or
 * have (those checks would cost more than all the rest for a call of a few numbers). A hole is refused.
 */
function argumentsBytes(args: unknown, roomBytes: number): number {
  if (!Array.isArray(args) || args.constructor !== Array) return -1;
  let bytes = arrayHeaderBytes(args.length);
  for (let i = 0; i < args.length; i++) {
    if (!(i in args)) return -1;
    const size = plainBytes(args[i], 2, roomBytes - bytes);
    if (size < 0) return -1;
    bytes += size;
  }
  return bytes;
}

/** The bound of one plain value's encoding, or -1 when it is not plain or its bound passes `roomBytes`. */
function plainBytes(value: unknown, depth: number, roomBytes: number): number {
  let size: number;
  switch (typeof value) {
    case 'number':
      size = value !== 0 || 1 / value > 0 ? 9 : -1;
      break;
    case 'string':
      size = stringBytes(value);
      break;
    case 'boolean':
      size = 1;
      break;
    case 'undefined':
      // msgpackr writes undefined as a 1-byte extension: 3 bytes.
      size = 3;
      break;
    case 'object':
      if (value === null) size = 1;
      else if (depth > MAX_PLAIN_DEPTH || isProxy(value)) return -1;
      else if (Array.isArray(value)) size = arrayBytes(value, depth, roomBytes);
      else size = objectBytes(value, depth, roomBytes);
      break;
    default:
      return -1;
  }
  return size <= roomBytes ? size : -1;
}

function stringBytes(value: string): number {
  return value.length <= MAX_PLAIN_BYTES && value.isWellFormed() ? 5 + 3 * value.length : -1;
}

function arrayHeaderBytes(length: number): number {
  return length < 16 ? 1 : length < 0x10000 ? 3 : 5;
}

function arrayBytes(array: readonly unknown[], depth: number, roomBytes: number): number {
  const length = array.length;
  // Every element takes a byte at least: a longer array is past the bound before any is looked at.
  if (Object.getPrototypeOf(array) !== Array.prototype || length > roomBytes) return -1;
  // Enumerable own keys come as the indices present, in order, then the other properties: `length` keys
  // of which the last is the last index are every index and nothing else. Otherwise there is a hole
  // (which clone keeps, and the codec fills with undefined) or another property (which clone keeps, and
  // the codec drops).
  const keys = Object.keys(array);
  if (keys.length !== length || (length > 0 && keys[length - 1] !== `${length - 1}`)) return -1;
  let bytes = arrayHeaderBytes(length);
  for (let i = 0; i < length; i++) {
    if (lookupGetter.call(array, i) !== undefined) return -1;
    const size = plainBytes(array[i], depth + 1, roomBytes - bytes);
    if (size < 0) return -1;
    bytes += size;
  }
  return bytes;
}

/**
 * An object is a msgpackr record: defined where first used (a 3-byte extension header and its keys as an
 * array of strings), then its values. A later object of the same keys in the message refers to the
 * definition with one byte instead, so this bound, which counts a definition for every object, holds.
 */
function objectBytes(object: object, depth: number, roomBytes: number): number {
  if (Object.getPrototypeOf(object) !== Object.prototype) return -1;
  let bytes = 3;
  let keys = 0;
  for (const key in object) {
    if (
      key === '__proto__' ||
      key === 'constructor' ||
      key === 'hasOwnProperty' ||
      key === '__keys__' ||
      lookupGetter.call(object, key) !== undefined
    ) {
      return -1;
    }
    const keySize = stringBytes(key);
    if (keySize < 0) return -1;
    const size = plainBytes((object as Record<string, unknown>)[key], depth + 1, roomBytes - bytes - keySize);
    if (size < 0) return -1;
    bytes += keySize + size;
    keys++;
  }
  bytes += arrayHeaderBytes(keys);
  return bytes <= roomBytes ? bytes : -1;
}

/**
 * A copy of a message plainMessageBytes found plain, taken as it is queued. Without it the message would
 * be read when it leaves: a change its sender made meanwhile would cross with it (an object reused for
 * the next call), something that cannot be sent put into it then would fail another message or the
 * flush, and an object it holds twice would arrive as one object, which the codec never does. Its values
 * are plain, so the copy runs no code of the sender's (no getter, no Proxy) and is a tree: every object
 * copied anew. Primitives-only messages are copied at the top only, and only their arguments array.
 */
export function copyPlainMessage<M extends readonly unknown[]>(message: M): M {
  let copy: unknown[] | undefined;
  for (let i = 0; i < message.length; i++) {
    const value = message[i];
    if (typeof value === 'object' && value !== null) (copy ??= message.slice())[i] = copyPlain(value);
  }
  return (copy as unknown as M | undefined) ?? message;
}

function copyPlain(value: object): unknown {
  if (Array.isArray(value)) {
    const copy = value.slice();
    for (let i = 0; i < copy.length; i++) {
      const item = copy[i];
      if (typeof item === 'object' && item !== null) copy[i] = copyPlain(item);
    }
    return copy;
  }
  const copy: Record<string, unknown> = {};
  // Own keys only, as clone and the codec take them: an enumerable key put on Object.prototype must not
  // become the copy's own.
  for (const key of Object.keys(value)) {
    const item = (value as Record<string, unknown>)[key];
    copy[key] = typeof item === 'object' && item !== null ? copyPlain(item) : item;
  }
  return copy;
}
