import test from 'ava';
import fc from 'fast-check';
import { Decoder, Encoder } from '../src/protocol/codec.js';
import { Kind } from '../src/protocol/messages.js';
import { TUPLE_WRITER_BYTES, writeTuple } from '../src/protocol/tuple-writer.js';

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
