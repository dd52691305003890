import test from 'ava';
import fc from 'fast-check';
import { Decoder, Encoder, type TupleTarget } from '../src/protocol/codec.js';
import { Kind } from '../src/protocol/messages.js';
import { NO_ROOM, TUPLE_WRITER_BYTES, writeTuple } from '../src/protocol/tuple-writer.js';

/** msgpackr's bytes for `message`, through the codec's own Packr (the path the fast one must match). */
function msgpackrBytes(message: unknown): Uint8Array {
  return new Encoder().encode(message);
}

function fastBytes(message: readonly unknown[]): Uint8Array | undefined {
  const target = new Uint8Array(TUPLE_WRITER_BYTES);
  const length = writeTuple(message, target, new DataView(target.buffer));
  return length < 0 ? undefined : target.subarray(0, length);
}

/** Numbers at every edge of msgpackr's choice of format, and then any. */
const EDGE_NUMBERS = [
  0,
  -0,
  1,
  0x3f,
  0x40,
  0x7f,
  0x80,
  0xff,
  0x100,
  0xffff,
  0x10000,
  2 ** 32 - 1,
  2 ** 32,
  -1,
  -0x20,
  -0x21,
  -0x80,
  -0x81,
  -0x8000,
  -0x8001,
  -(2 ** 31),
  -(2 ** 31) - 1,
  0.5,
  -1.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  Number.MAX_SAFE_INTEGER,
  Number.MIN_SAFE_INTEGER,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
];
const number = fc.oneof(fc.constantFrom(...EDGE_NUMBERS), fc.integer({ min: -(2 ** 31) - 10, max: 2 ** 32 + 10 }), fc.double());
const asciiString = fc.string({ unit: 'binary-ascii', maxLength: 300 });
/** Any UTF-16 code units, lone surrogates included (they are written as U+FFFD, as msgpackr does). */
const anyUnit = fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code));
const string = fc.oneof(
  asciiString,
  fc.string({ unit: 'grapheme', maxLength: 300 }),
  fc.string({ unit: anyUnit, maxLength: 300 }),
  // Around the lengths where the header grows: 31-32 and 255-256 bytes.
  fc.string({ unit: fc.constantFrom('a', 'é', '世', '\u{1F680}'), minLength: 8, maxLength: 90 }),
);
/** What the fast path takes as an element. */
const primitive = fc.oneof(number, string, fc.boolean(), fc.constant(null), fc.constant(undefined));
/** What it leaves to msgpackr, alone or inside an otherwise plain message. */
const other = fc.oneof(
  fc.dictionary(fc.string({ maxLength: 5 }), primitive, { maxKeys: 3 }),
  fc.array(primitive, { maxLength: 3 }),
  fc.bigInt(),
);

const args = (element: fc.Arbitrary<unknown>) => fc.array(element, { maxLength: 17 });
const callOf = (element: fc.Arbitrary<unknown>) => fc.tuple(fc.constant(Kind.Call), fc.nat(), asciiString, args(element));
const notifyOf = (element: fc.Arbitrary<unknown>) => fc.tuple(fc.constant(Kind.Notify), asciiString, args(element));
const replyOf = (element: fc.Arbitrary<unknown>) => fc.tuple(fc.constant(Kind.Reply), fc.nat(), element);

test('a call, notify or reply of primitives is written as msgpackr writes it', (t) => {
  fc.assert(
    fc.property(fc.oneof(callOf(primitive), notifyOf(primitive), replyOf(primitive)), (message) => {
      const expected = msgpackrBytes(message);
      const fast = fastBytes(message);
      // It may give up only for what it does not take: a string of 256 code units or more, more than 15 arguments.
      const takes = message.every((value) => (Array.isArray(value) ? value.length <= 15 && value.every(small) : small(value)));
      if (takes) t.truthy(fast, 'the fast path took it');
      if (fast) t.deepEqual(Buffer.from(fast), Buffer.from(expected));
    }),
    { numRuns: 3000 },
  );
});

function small(value: unknown): boolean {
  return typeof value !== 'string' || value.length < 256;
}

test('any other message is refused or written as msgpackr writes it, never differently', (t) => {
  const element = fc.oneof(primitive, other);
  const anyMessage = fc.oneof(callOf(element), notifyOf(element), replyOf(element), fc.array(element, { maxLength: 17 }));
  fc.assert(
    fc.property(anyMessage, (message) => {
      const fast = fastBytes(message);
      if (fast) t.deepEqual(Buffer.from(fast), Buffer.from(msgpackrBytes(message)));
    }),
    { numRuns: 3000 },
  );
});

test('it leaves to msgpackr what it does not take', (t) => {
  for (const message of [
    [Kind.Call, 1, 'm', [{ a: 1 }]],
    [Kind.Call, 1, 'm', [[1]]],
    [Kind.Reply, 1, [1, 2]],
    [Kind.Reply, 1, 2n],
    [Kind.Reply, 1, 'x'.repeat(256)],
    [Kind.Call, 1, 'm', Array.from({ length: 16 }, () => 0)],
    Array.from({ length: 16 }, () => 0),
    [Kind.Call, 1, 'm', [() => {}]],
  ]) {
    t.is(
      fastBytes(message),
      undefined,
      JSON.stringify(message, (_, v) => (typeof v === 'bigint' ? `${v}n` : v)),
    );
  }
});

test('strings of any code units, lone surrogates included, are written as msgpackr writes them', (t) => {
  for (const value of [
    '',
    'é',
    '世界',
    '\u{1F680}',
    '\ud800',
    'a\udc00b',
    '\ud800\ud800\udc00',
    'é'.repeat(16),
    '世'.repeat(85),
    '世'.repeat(255),
  ]) {
    const message = [Kind.Reply, 1, value];
    const fast = fastBytes(message);
    t.truthy(fast, JSON.stringify(value));
    t.deepEqual(Buffer.from(fast!), Buffer.from(msgpackrBytes(message)), JSON.stringify(value));
  }
});

test('encodeMessage decodes to the same values on either path, and keep() copies the fast path out', (t) => {
  const encoder = new Encoder();
  const decoder = new Decoder();
  encoder.encodeMessage([Kind.Call, 7, 'inc', [1, -0, 'a', undefined, null, true]]);
  const kept = encoder.keep();
  encoder.encodeMessage([Kind.Reply, 7, 2.5]);
  t.deepEqual(decoder.decode(kept), [Kind.Call, 7, 'inc', [1, 0, 'a', undefined, null, true]]);
  const length = encoder.encodeMessage([Kind.Call, 8, 'm', [{ a: new Map([[1, 2]]) }]]);
  t.deepEqual(decoder.decode(encoder.scratch.subarray(encoder.scratchStart, encoder.scratchStart + length)), [
    Kind.Call,
    8,
    'm',
    [{ a: new Map([[1, 2]]) }],
  ]);
});

/** The largest messages the fast path takes: 15 elements, one of them 15 arguments, every string as long as it may be. */
const widest = (unit: string) => {
  const text = unit.repeat(255);
  return [
    [Kind.Call, 2 ** 32 - 1, text, Array.from({ length: 15 }, () => text), ...Array.from({ length: 11 }, () => text)],
    [Kind.Notify, text, Array.from({ length: 15 }, () => text), ...Array.from({ length: 12 }, () => text)],
  ];
};

test('with TUPLE_WRITER_BYTES of room it never runs out, even for the widest message; with less it says NO_ROOM and writes nothing past the end', (t) => {
  for (const unit of ['a', 'é', '世']) {
    for (const message of widest(unit)) {
      const expected = msgpackrBytes(message);
      const fast = fastBytes(message);
      t.truthy(fast);
      t.deepEqual(Buffer.from(fast!), Buffer.from(expected));
      // Where the room ends inside the message, it refuses; bytes past the room stay untouched.
      const room = new Uint8Array(expected.byteLength + 64);
      const end = writeTuple(message, room.subarray(0, expected.byteLength - 1), new DataView(room.buffer));
      t.is(end, NO_ROOM);
      t.true(room.subarray(expected.byteLength - 1).every((byte) => byte === 0));
    }
  }
});

test("from any start, in a target of any size, it writes msgpackr's bytes there or says NO_ROOM", (t) => {
  const message = fc.oneof(callOf(primitive), notifyOf(primitive), replyOf(primitive));
  fc.assert(
    fc.property(message, fc.nat(64), fc.nat(2048), (message, start, room) => {
      const target = new Uint8Array(start + room);
      const end = writeTuple(message, target, new DataView(target.buffer), start);
      const fast = fastBytes(message);
      if (!fast) return;
      // NO_ROOM is allowed only when the message might not have fitted (it checks per element, against the largest).
      if (end === NO_ROOM) t.true(fast.byteLength > room - 768, `refused ${fast.byteLength} bytes with ${room} of room`);
      else t.deepEqual(Buffer.from(target.subarray(start, end)), Buffer.from(fast));
    }),
    { numRuns: 2000 },
  );
});

/** A target like the channel's outbox: 1 KiB of room from where the next message goes; counts the asks for room. */
class SmallTarget implements TupleTarget {
  tupleBuffer = new Uint8Array(20 + 1024);
  tupleView = new DataView(this.tupleBuffer.buffer);
  tupleStart = 20;
  reserved = 0;
  reserveTuple(): void {
    this.reserved++;
  }
}

test('with a target, the fast path writes there; a message that may not fit there, or one it does not take, is written elsewhere', (t) => {
  const target = new SmallTarget();
  const encoder = new Encoder(target);
  const decoder = new Decoder();
  const decodeScratch = (length: number) => decoder.decode(encoder.scratch.subarray(encoder.scratchStart, encoder.scratchStart + length));

  let length = encoder.encodeMessage([Kind.Notify, 'inc', [1]]);
  t.is(encoder.scratch, target.tupleBuffer);
  t.is(encoder.scratchStart, 20);
  t.deepEqual(decodeScratch(length), [Kind.Notify, 'inc', [1]]);
  const kept = encoder.keep();
  t.not(kept.buffer, target.tupleBuffer.buffer, 'keep() copies bytes out of the target');

  const wide = [Kind.Notify, 'é'.repeat(200), ['世'.repeat(255)]];
  length = encoder.encodeMessage(wide);
  t.not(encoder.scratch, target.tupleBuffer);
  t.deepEqual(decodeScratch(length), wide);

  const other = [Kind.Notify, 'm', [{ a: 1 }]];
  length = encoder.encodeMessage(other);
  t.not(encoder.scratch, target.tupleBuffer);
  t.deepEqual(decodeScratch(length), other);
  t.is(target.reserved, 3, 'room is asked for before every message the fast path may take');
  t.deepEqual(decoder.decode(kept), [Kind.Notify, 'inc', [1]]);
});
