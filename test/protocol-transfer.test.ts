/**
 * The transfer placeholders on the wire (src/protocol/transfer.ts): any structure of views over marked
 * buffers, batched several messages to a frame, decodes back to the same values with the frame's own
 * buffers; and a placeholder without its buffer, a buffer without its placeholder, or a forged one is a
 * ProtocolError — on TCP, where no buffers ever come, every placeholder is.
 */
import test from 'ava';
import fc from 'fast-check';
import { parseFrame } from '../src/channel/frame.js';
import { Outbox } from '../src/channel/outbox.js';
import { ProtocolError, SerializationError } from '../src/errors.js';
import { Decoder, Encoder } from '../src/protocol/codec.js';
import { Kind, type Message } from '../src/protocol/messages.js';
import { sendable, snapshotArguments } from '../src/protocol/snapshot.js';
import { TransferSlot, prepareTransfer, transfer, transferListOf } from '../src/protocol/transfer.js';

const encoder = new Encoder();
const decoder = new Decoder();

/** One frame of `parts`, as a channel cuts it. */
function frameOfParts(parts: Uint8Array[]): Uint8Array {
  const outbox = new Outbox();
  for (const part of parts) outbox.push(part, 0);
  return outbox.take(0, Infinity).frame;
}

/** Encodes `messages`, each with its own transfer list, into one frame; returns it and the buffers beside it. */
function frameOf(messages: Array<{ message: Message; list: ArrayBuffer[] }>): { bytes: Uint8Array; buffers: ArrayBuffer[] } {
  const parts: Uint8Array[] = [];
  const buffers: ArrayBuffer[] = [];
  for (const { message, list } of messages) {
    const prepared = prepareTransfer(message, list, false);
    parts.push(encoder.encode(prepared.value));
    buffers.push(...(prepared.commit() ?? []));
  }
  return { bytes: frameOfParts(parts), buffers };
}

const VIEW_MAKERS = [
  (b: ArrayBuffer) => b,
  (b: ArrayBuffer) => new Uint8Array(b, 1, 3),
  (b: ArrayBuffer) => new Int32Array(b, 4, 2),
  (b: ArrayBuffer) => new Float64Array(b, 8, 1),
  (b: ArrayBuffer) => new DataView(b, 2, 5),
  (b: ArrayBuffer) => Buffer.from(b, 3, 4),
  (b: ArrayBuffer) => new BigUint64Array(b, 0, 2),
];

/** One message's plan: some 16-byte buffers, views over them placed in arrays, objects and maps. */
const plan = fc.record({
  buffers: fc.integer({ min: 0, max: 3 }),
  views: fc.array(
    fc.tuple(fc.nat(), fc.integer({ min: 0, max: VIEW_MAKERS.length - 1 }), fc.constantFrom('array', 'object', 'map', 'set')),
    { maxLength: 6 },
  ),
  listAll: fc.boolean(),
});

function build(p: { buffers: number; views: Array<[number, number, string]>; listAll: boolean }, seed: number) {
  const buffers = Array.from({ length: p.buffers }, (_, i) => new Uint8Array(16).fill(seed * 16 + i).buffer as ArrayBuffer);
  const array: unknown[] = [];
  const object: Record<string, unknown> = {};
  const map = new Map<string, unknown>();
  const set = new Set<unknown>();
  p.views.forEach(([which, maker, where], i) => {
    if (buffers.length === 0) return;
    const view = VIEW_MAKERS[maker]!(buffers[which % buffers.length]!);
    if (where === 'array') array.push(view);
    else if (where === 'object') object[`v${i}`] = view;
    else if (where === 'map') map.set(`v${i}`, view);
    else set.add(view);
  });
  const value = { array, object, map, set, plain: [seed, 'x'] };
  // The value as the codec copies it, made before the buffers are detached: a transfer must not differ.
  const expected = decoder.decode(encoder.encode(value));
  return { value, expected, list: p.listAll ? buffers : buffers.slice(0, 1) };
}

test('property: any views over marked buffers, several messages to a frame, decode to what a copy gives', (t) => {
  fc.assert(
    fc.property(fc.array(plan, { minLength: 1, maxLength: 4 }), (plans) => {
      const built = plans.map((p, i) => build(p, i));
      const { bytes, buffers } = frameOf(
        built.map(({ value, list }, i) => ({ message: [Kind.Notify, `m${i}`, [value]] as Message, list })),
      );
      const { messages } = parseFrame(decoder, bytes, buffers.length > 0 ? buffers : undefined);
      t.is(messages.length, built.length);
      messages.forEach((message, i) => {
        t.deepEqual((message as [number, string, unknown[]])[2][0], built[i]!.expected);
      });
    }),
    { numRuns: 200 },
  );
});

test('a placeholder without transferred buffers (TCP, or forged) is a ProtocolError', (t) => {
  const bytes = frameOfParts([encoder.encode([Kind.Notify, 'm', [new TransferSlot(0, 0, 0, 4)]])]);
  t.throws(() => parseFrame(decoder, bytes), { instanceOf: ProtocolError, message: /without transferred buffers/ });
});

test('a placeholder past the buffers that came, a bad view kind, or out of bounds is a ProtocolError', (t) => {
  const frame = (slot: TransferSlot) => frameOfParts([encoder.encode([Kind.Notify, 'm', [slot]])]);
  const one = [new ArrayBuffer(8)];
  t.throws(() => parseFrame(decoder, frame(new TransferSlot(1, 0, 0, 8)), one), { instanceOf: ProtocolError, message: /has no buffer/ });
  t.throws(() => parseFrame(decoder, frame(new TransferSlot(0, 99, 0, 1)), one), {
    instanceOf: ProtocolError,
    message: /Unknown view kind/,
  });
  t.throws(() => parseFrame(decoder, frame(new TransferSlot(0, 3, 4, 100)), one), {
    instanceOf: ProtocolError,
    message: /out of its buffer's bounds/,
  });
  const junk = frameOfParts([encoder.encode([Kind.Notify, 'm', []])]);
  t.throws(() => parseFrame(decoder, junk, one), {
    instanceOf: ProtocolError,
    message: /1 buffers came beside a frame whose messages use 0/,
  });
});

test('property: random bytes with random buffers beside them only ever give ProtocolError', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 0, max: 3 }), (bytes, count) => {
      // Plant a placeholder marker (fixext1, type 0x54) somewhere so the slot reader is reached often.
      const planted = new Uint8Array([...bytes.subarray(0, 8), 0xd4, 0x54, 0, ...bytes.subarray(8)]);
      const buffers = Array.from({ length: count }, () => new ArrayBuffer(4));
      try {
        parseFrame(decoder, planted, buffers.length > 0 ? buffers : undefined);
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
      }
    }),
    { numRuns: 2000 },
  );
  t.pass('no other error came out');
});

test('inline (TCP): the value is encoded as it is and the buffers are only detached', (t) => {
  const bytes = new Uint8Array([1, 2, 3]);
  const value = { bytes };
  const prepared = prepareTransfer(value, [bytes.buffer as ArrayBuffer], true);
  t.is(prepared.value, value);
  t.is(prepared.bytes, 0);
  const encoded = encoder.encode(prepared.value);
  t.is(prepared.commit(), undefined);
  t.is(bytes.byteLength, 0);
  t.deepEqual(decoder.decode(encoded), { bytes: new Uint8Array([1, 2, 3]) });
});

test('a circular structure in a transferred value is a SerializationError, and nothing is detached', (t) => {
  const bytes = new Uint8Array(4);
  const value: Record<string, unknown> = { bytes };
  value.self = value;
  t.throws(() => prepareTransfer(value, [bytes.buffer as ArrayBuffer], false), { message: /circular/ });
  t.is(bytes.byteLength, 4);
});

// A review's: a call parked until its channel opened (a restart, a peer's first call) rebuilt its
// transfer()-marked arguments with a plain spread, which dropped their prototypes: a class's toJSON was
// lost, and a URL arrived as {}.
test('snapshotArguments and a transfer keep what the codec reads of a value: a class’s toJSON, a URL, a null prototype', (t) => {
  class Money {
    constructor(readonly cents: number) {}
    toJSON(): string {
      return `$${this.cents / 100}`;
    }
  }
  const make = () => {
    const bytes = new Uint8Array([1, 2, 3, 4]);
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { n: 1 });
    // Money holds a moved buffer too, which its toJSON leaves out.
    const held = Object.assign(new Money(250), { bytes: new Uint8Array(bytes.buffer, 1, 2) });
    return { value: transfer({ bytes, price: new Money(250), held, url: new URL('https://example.com/x'), bare }, [bytes.buffer]), bytes };
  };
  const plain = make();
  const expected = decoder.decode(encoder.encode(plain.value));
  t.like(expected, { price: '$2.5', held: '$2.5', url: 'https://example.com/x', bare: { n: 1 } });
  const parked = make();
  const [rebuilt] = snapshotArguments([parked.value]);
  t.is(parked.bytes.byteLength, 0, 'moved out of the caller’s hands');
  t.deepEqual(decoder.decode(encoder.encode(rebuilt)), expected, 'parked, it encodes as it would have at once');
  const sent = make();
  const prepared = prepareTransfer(sent.value, transferListOf([sent.value])!, false);
  t.is((prepared.value as { held: unknown }).held, '$2.5', 'an object the codec writes by its toJSON is sent as what that returns');
});

// From the review of that fix: a copy that keeps the class still lacks its private fields, so a toJSON that
// reads one threw ("Cannot read private member #id"), where the same value without transfer() was sent.
test('a class whose toJSON reads a private field crosses with transfer(), as its toJSON gives it, its buffer moved', (t) => {
  class Packet {
    readonly #id: number;
    constructor(
      id: number,
      readonly bytes: Uint8Array,
    ) {
      this.#id = id;
    }
    toJSON(): object {
      return { id: this.#id, bytes: this.bytes };
    }
  }
  const expected = { id: 7, bytes: new Uint8Array([1, 2, 3]) };
  t.deepEqual(decoder.decode(encoder.encode({ packet: new Packet(7, new Uint8Array([1, 2, 3])) })), { packet: expected });
  const bytes = new Uint8Array([1, 2, 3]);
  const [rebuilt] = snapshotArguments([transfer({ packet: new Packet(7, bytes) }, [bytes.buffer as ArrayBuffer])]);
  t.is(bytes.byteLength, 0, 'its buffer moved');
  t.deepEqual(decoder.decode(encoder.encode(rebuilt)), { packet: expected });
});

// From the review of the last commits: encodedAs() must follow msgpackr's rule exactly. A Set, Map or Error
// subclass with a toJSON of its own is written by its toJSON; a toJSON that throws is a SerializationError,
// as the encoder's is; and toJSON runs once.
test('with transfer(), subclasses with a toJSON, and a toJSON that throws, encode as they do without it', (t) => {
  let calls = 0;
  class Tagged extends Set<unknown> {
    toJSON(): object {
      calls++;
      return { kind: 'tagged', items: [...this] };
    }
  }
  class Keyed extends Map<string, unknown> {
    toJSON(): object {
      return { kind: 'keyed', entries: [...this] };
    }
  }
  class Failure extends Error {
    constructor(readonly bytes: Uint8Array) {
      super('failed');
    }
    toJSON(): object {
      return { kind: 'failure', n: this.bytes.byteLength };
    }
  }
  const make = () => {
    const bytes = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
    const value = { set: new Tagged([bytes]), map: new Keyed([['b', bytes]]), error: new Failure(bytes), date: new Date(0) };
    return { value, bytes };
  };
  const plain = make();
  const expected = decoder.decode(encoder.encode(plain.value));
  t.like(expected, { set: { kind: 'tagged' }, map: { kind: 'keyed' }, error: { kind: 'failure', n: 8 } });
  calls = 0;
  const parked = make();
  const [rebuilt] = snapshotArguments([transfer(parked.value, [parked.bytes.buffer as ArrayBuffer])]);
  t.is(parked.bytes.byteLength, 0, 'moved');
  t.deepEqual(decoder.decode(encoder.encode(rebuilt)), expected);
  t.is(calls, 1, 'toJSON ran once');
  const thrower = {
    t: new (class {
      toJSON(): never {
        throw new TypeError('boom');
      }
    })(),
    bytes: new Uint8Array(4),
  };
  t.throws(() => snapshotArguments([transfer(thrower, [thrower.bytes.buffer as ArrayBuffer])]), {
    instanceOf: SerializationError,
    message: 'Cannot encode value: boom',
  });
});

// A review's: the snapshot's encoder grew msgpackr's buffer (one per thread, whichever encoder grows it) for
// a large argument and, never encoding again, left it at that size: a large call that parked and then
// failed kept ~2x its size in memory for good.
test('a large argument taken by snapshotArguments or sendable leaves msgpackr a small buffer', (t) => {
  const channel = new Encoder();
  for (const take of [() => snapshotArguments([new Uint8Array(20e6)]), () => sendable(new Uint8Array(20e6))]) {
    take();
    // A Map takes msgpackr's own buffer (not the fast path of small tuples): the one left by the last encode.
    channel.encodeScratch(new Map([[1, 2]]));
    t.true(channel.scratch.byteLength < 1e6, `msgpackr's buffer is ${channel.scratch.byteLength} bytes`);
  }
});
