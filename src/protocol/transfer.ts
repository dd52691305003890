/**
 * Zero-copy ArrayBuffers inside ordered calls, in comlink's spirit: `transfer(value, [buffer])` marks an
 * argument (or a handler's result) whose buffers move to the other side instead of being copied.
 *
 * On a MessagePort the buffers travel beside the frame, in postMessage's transfer list, and the encoded
 * message holds a small placeholder (a TransferSlot) wherever a marked buffer or a view over one was.
 * Over TCP nothing can move between processes, so the bytes are encoded inline. Either way the sender's
 * buffers are detached once the message is accepted, so code behaves the same whether its peer is a
 * thread or a process — and a buffer sent twice is an error on both.
 *
 * Pure: no I/O. The channel decides which of the two paths a message takes (`prepareTransfer`); the codec
 * encodes TransferSlot and turns it back into a buffer or view on the receiving side (`resolveSlot`).
 */
import { ProtocolError, SerializationError, toError } from '../errors.js';

/**
 * The marks, shared through a global registry: a worker module built against dist/ and a runtime loaded
 * from src/ (or two copies of the package) must see each other's marks. `any` spares the hot path any
 * lookup in programs that never call transfer().
 */
const registry = ((globalThis as { [key: symbol]: unknown })[Symbol.for('convoy.transfer')] ??= {
  marks: new WeakMap<object, readonly ArrayBuffer[]>(),
  any: false,
}) as { marks: WeakMap<object, readonly ArrayBuffer[]>; any: boolean };
const { marks } = registry;

/**
 * Marks `value` so that the ArrayBuffers in `list` are transferred, not copied, when `value` is passed as
 * an argument (or returned from a handler). Returns `value`. After the call is made the buffers are
 * detached on this side (`byteLength` 0), as with postMessage.
 *
 * @example await peer.store(transfer(bytes, [bytes.buffer]))
 */
export function transfer<T extends object>(value: T, list: readonly ArrayBufferLike[]): T {
  if (typeof value !== 'object' || value === null) {
    throw new TypeError(
      `transfer() marks an object (an ArrayBuffer, a typed array, an array or an object holding them), got ${value === null ? 'null' : typeof value}`,
    );
  }
  if (!Array.isArray(list)) throw new TypeError('transfer() expects an array of ArrayBuffers as its second argument');
  for (const buffer of list) {
    if (!(buffer instanceof ArrayBuffer)) {
      const what = ArrayBuffer.isView(buffer) ? `${typeOf(buffer)} (pass its .buffer)` : typeOf(buffer);
      throw new TypeError(`transfer() lists ArrayBuffers only, got ${what}`);
    }
  }
  // Each one checked above: `ArrayBufferLike` in the signature only so that `transfer(bytes, [bytes.buffer])`
  // compiles, a typed array's `buffer` being typed so; a SharedArrayBuffer is refused here.
  marks.set(value, [...list] as ArrayBuffer[]);
  registry.any = true;
  return value;
}

/** The buffers marked on the top-level `values` (a call's arguments), or undefined when there are none. */
export function transferListOf(values: readonly unknown[]): ArrayBuffer[] | undefined {
  if (!registry.any) return undefined;
  let list: ArrayBuffer[] | undefined;
  for (const value of values) {
    const marked = typeof value === 'object' && value !== null ? marks.get(value) : undefined;
    if (marked) (list ??= []).push(...marked);
  }
  return list;
}

/** The buffers marked on one value (a handler's result). */
export function transferListOfValue(value: unknown): ArrayBuffer[] | undefined {
  if (!registry.any || typeof value !== 'object' || value === null) return undefined;
  const marked = marks.get(value);
  return marked ? [...marked] : undefined;
}

/** Stands where a transferred buffer (or a view over one) was: `index` counts the message's own buffers. */
export class TransferSlot {
  constructor(
    readonly index: number,
    readonly view: number,
    readonly byteOffset: number,
    readonly length: number,
  ) {}
}

/**
 * The kinds a slot can stand for. 0 is the ArrayBuffer itself; Buffer is kept apart from Uint8Array
 * because the codec gives a Buffer back as a Buffer when it is copied, and a transfer must not differ.
 */
const VIEWS = [
  undefined,
  Buffer,
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
  DataView,
] as const;
const DATA_VIEW = VIEWS.length - 1;

export interface PreparedTransfer {
  /** What to encode: the message itself, or a copy with TransferSlots in place of the buffers. */
  value: unknown;
  /** Bytes that travel beside the frame (0 when encoded inline). */
  bytes: number;
  /**
   * Detaches the sender's buffers; returns the buffers to send beside the frame (the slots' targets, in
   * slot order), or undefined when they were encoded inline. Call it once the message is accepted.
   */
  commit(): ArrayBuffer[] | undefined;
}

/**
 * Prepares `value` for sending with `list` transferred. With `inline` (a transport that cannot carry
 * buffers) the value is encoded as it is and the buffers are only detached. Throws SerializationError for
 * a detached buffer (already sent?) or a circular structure.
 */
export function prepareTransfer(value: unknown, list: readonly ArrayBuffer[], inline: boolean): PreparedTransfer {
  const buffers = [...new Set(list)];
  for (const buffer of buffers) {
    if (isDetached(buffer)) throw new SerializationError('An ArrayBuffer in the transfer list is detached (was it transferred already?)');
  }
  if (inline) {
    return { value, bytes: 0, commit: () => void detach(buffers, []) };
  }
  const slots = new Map<ArrayBuffer, number>();
  const used: ArrayBuffer[] = [];
  const listed = new Set(buffers);
  const slotOf = (buffer: ArrayBufferLike): number | undefined => {
    if (!listed.has(buffer as ArrayBuffer)) return undefined;
    let index = slots.get(buffer as ArrayBuffer);
    if (index === undefined) {
      slots.set(buffer as ArrayBuffer, (index = used.length));
      used.push(buffer as ArrayBuffer);
    }
    return index;
  };
  const substituted = substitute(value, slotOf, new Set());
  return { value: substituted, bytes: totalByteLength(used), commit: () => detach(buffers, used) };
}

/** The classes msgpackr encodes by its own extensions (pack.js `extensionClasses`), in its order. */
const BUILT_IN_EXTENSIONS: (abstract new (...args: never) => object)[] = [
  Date,
  Set,
  Error,
  RegExp,
  ArrayBuffer,
  Object.getPrototypeOf(Uint8Array) as abstract new (...args: never) => object,
  DataView,
];

/**
 * What the codec writes for an object in place of its own properties, by msgpackr's rule: an object whose
 * constructor is Object, Array or Map is written as it is; one of a class msgpackr has an extension for
 * (Date, Set, Error, RegExp, buffers and views) by that extension, unless it is a subclass with a
 * `toJSON` of its own (Date's never counts, nor a view's); any other object with a `toJSON` by what that
 * returns. A `toJSON` that throws is a SerializationError, as the encoder's would be.
 */
function encodedAs(value: object): unknown {
  const made = (value as { constructor?: unknown }).constructor;
  if (made === Object || made === Array || made === Map || ArrayBuffer.isView(value)) return value;
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  const extended = BUILT_IN_EXTENSIONS.find((Class) => value instanceof Class);
  if (extended && (made === extended || toJSON === undefined || toJSON === Date.prototype.toJSON)) return value;
  if (Array.isArray(value) || typeof toJSON !== 'function') return value;
  try {
    return toJSON.call(value);
  } catch (error) {
    throw new SerializationError(`Cannot encode value: ${toError(error).message}`, { cause: error });
  }
}

/**
 * A shallow copy of `value` that keeps its prototype: the codec reads what the prototype gives (a class's
 * `toJSON`, a URL's), so a copy made to swap a buffer must encode as the original does. A plain spread
 * lost it: a parked call's URL argument arrived as `{}`.
 */
function sameKindCopy(value: object): Record<string, unknown> {
  return Object.assign(Object.create(Object.getPrototypeOf(value)) as Record<string, unknown>, value);
}

/**
 * Marks `value` so that every ArrayBuffer in it is transferred: for values this side owns outright and
 * only passes on (what arrived in a message, relayed elsewhere). Buffers that cannot move (a pooled
 * Buffer's) are copied by the transfer as usual. Returns `value`; primitives come back unmarked.
 */
export function transferAll<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  const found = new Set<ArrayBuffer>();
  collectBuffers(value, found, new Set());
  return found.size > 0 ? transfer(value, [...found]) : value;
}

function collectBuffers(value: unknown, found: Set<ArrayBuffer>, seen: Set<object>): void {
  if (typeof value !== 'object' || value === null || seen.has(value)) return;
  seen.add(value);
  if (value instanceof ArrayBuffer) found.add(value);
  else if (ArrayBuffer.isView(value)) {
    if (value.buffer instanceof ArrayBuffer) found.add(value.buffer);
  } else if (value instanceof Map) {
    for (const [key, item] of value) {
      collectBuffers(key, found, seen);
      collectBuffers(item, found, seen);
    }
  } else if (value instanceof Set || Array.isArray(value)) {
    for (const item of value) collectBuffers(item, found, seen);
  } else {
    for (const item of Object.values(value)) collectBuffers(item, found, seen);
  }
}

/** The bytes in `buffers`, together. */
export function totalByteLength(buffers: readonly ArrayBuffer[]): number {
  let total = 0;
  for (const buffer of buffers) total += buffer.byteLength;
  return total;
}

/**
 * Moves every listed buffer out of the sender's hands (structuredClone with a transfer list moves the
 * memory without copying it) and returns the new owners of `used`, in order.
 */
function detach(buffers: ArrayBuffer[], used: ArrayBuffer[]): ArrayBuffer[] {
  return structuredClone(used, { transfer: buffers });
}

function isDetached(buffer: ArrayBuffer): boolean {
  if (buffer.byteLength > 0) return false;
  try {
    new Uint8Array(buffer);
    return false;
  } catch {
    return true;
  }
}

/**
 * A copy of `value` with TransferSlots where listed buffers (and views over them) were; containers are
 * copied only along the paths that lead to one, everything else is shared with `value`.
 */
function substitute(value: unknown, slotOf: (buffer: ArrayBufferLike) => number | undefined, path: Set<object>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof ArrayBuffer) {
    const index = slotOf(value);
    return index === undefined ? value : new TransferSlot(index, 0, 0, value.byteLength);
  }
  if (ArrayBuffer.isView(value)) {
    const index = slotOf(value.buffer);
    if (index === undefined) return value;
    const view = VIEWS.findIndex((View) => View !== undefined && value instanceof View);
    const length = view === DATA_VIEW ? value.byteLength : (value as unknown as { length: number }).length;
    return new TransferSlot(index, view, value.byteOffset, length);
  }
  if (path.has(value)) throw new SerializationError('A circular structure cannot be sent');
  path.add(value);
  const swap = (item: unknown): unknown => substitute(item, slotOf, path);
  const json = encodedAs(value);
  if (json !== value) {
    // The codec writes what toJSON returns: the swap is made there, not in a copy of the object, which
    // would lack what its toJSON reads (private fields). Its result is what is sent, swapped or not, so
    // that toJSON runs once, here.
    const swapped = swap(json);
    path.delete(value);
    return swapped;
  }
  if (value instanceof Date || value instanceof RegExp || value instanceof Error) {
    path.delete(value);
    return value;
  }
  let copy: unknown;
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      const swapped = swap(item);
      if (swapped !== item) ((copy ??= value.slice()) as unknown[])[i] = swapped;
    });
  } else if (value instanceof Map && value.constructor === Map) {
    // Only a Map itself is written as a map: msgpackr writes a subclass (without a toJSON) as an object.
    let changed = false;
    const entries: [unknown, unknown][] = [];
    for (const [key, item] of value) {
      const entry: [unknown, unknown] = [swap(key), swap(item)];
      changed ||= entry[0] !== key || entry[1] !== item;
      entries.push(entry);
    }
    if (changed) copy = new Map(entries);
  } else if (value instanceof Set) {
    let changed = false;
    const items: unknown[] = [];
    for (const item of value) {
      const swapped = swap(item);
      changed ||= swapped !== item;
      items.push(swapped);
    }
    if (changed) copy = new Set(items);
  } else {
    // Anything else is encoded as its own enumerable properties, which a plain copy keeps.
    for (const key of Object.keys(value)) {
      const item = (value as Record<string, unknown>)[key];
      const swapped = swap(item);
      if (swapped !== item) ((copy ??= sameKindCopy(value)) as Record<string, unknown>)[key] = swapped;
    }
  }
  path.delete(value);
  return copy ?? value;
}

/**
 * The receiving side: the buffers that came beside one frame, handed out to its slots in order. Each
 * message numbers its own buffers from 0, so `base` moves past a message's buffers once it is decoded.
 */
export class InboundBuffers {
  #base = 0;
  #next = 0;

  constructor(readonly buffers: readonly ArrayBuffer[]) {}

  resolve(data: unknown): unknown {
    if (!Array.isArray(data) || data.length !== 4 || !data.every((n) => Number.isSafeInteger(n) && n >= 0)) {
      throw new ProtocolError('Malformed transfer placeholder');
    }
    const [index, view, byteOffset, length] = data as number[];
    const at = this.#base + index!;
    const buffer = this.buffers[at];
    if (buffer === undefined)
      throw new ProtocolError(`Transfer placeholder ${at} has no buffer (${this.buffers.length} came with the frame)`);
    this.#next = Math.max(this.#next, at + 1);
    if (view === 0) return buffer;
    const View = VIEWS[view!];
    if (View === undefined) throw new ProtocolError(`Unknown view kind ${view} in a transfer placeholder`);
    try {
      if (View === Buffer) return Buffer.from(buffer, byteOffset, length);
      return new (View as new (buffer: ArrayBuffer, byteOffset?: number, length?: number) => ArrayBufferView)(buffer, byteOffset, length);
    } catch (error) {
      throw new ProtocolError(`Transfer placeholder out of its buffer's bounds`, { cause: error });
    }
  }

  /**
   * One message is decoded: the next one's buffers come after this one's. Returns the bytes of the
   * buffers it took, which its sender counted in its window cost.
   */
  messageDone(): number {
    let bytes = 0;
    for (let i = this.#base; i < this.#next; i++) bytes += this.buffers[i]!.byteLength;
    this.#base = this.#next;
    return bytes;
  }

  /** Every buffer that came must have been used; anything else is a broken or forged stream. */
  finish(): void {
    if (this.#next !== this.buffers.length) {
      throw new ProtocolError(`${this.buffers.length} buffers came beside a frame whose messages use ${this.#next}`);
    }
  }
}

/** Slots outside a frame that brought buffers (TCP, or a forged placeholder) are a protocol error. */
export const NO_INBOUND_BUFFERS: Pick<InboundBuffers, 'resolve'> = {
  resolve() {
    throw new ProtocolError('A transfer placeholder arrived without transferred buffers');
  },
};

/** `null`, `a Foo` for an object of class Foo, or the `typeof` of anything else. */
function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  const name = (value as object).constructor?.name;
  if (name === undefined || name === 'Object') return 'a plain object';
  // "an Int8Array", "an Error", but "a Uint8Array".
  return `${/^[AEIO]/.test(name) ? 'an' : 'a'} ${name}`;
}
