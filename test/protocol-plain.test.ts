/**
 * Plain messages (src/protocol/plain.ts): the ones a MessagePort may clone instead of carrying their
 * encoding. Plain must mean "clone and the codec give the same value", and the size bound must hold.
 */
import test from 'ava';
import fc from 'fast-check';
import { Decoder, Encoder } from '../src/protocol/codec.js';
import { Kind, type Message } from '../src/protocol/messages.js';
import { MAX_PLAIN_BYTES, plainMessageBytes } from '../src/protocol/plain.js';

const encoder = new Encoder();
const decoder = new Decoder();

function throughCodec(message: unknown): unknown {
  return decoder.decode(encoder.encode(message));
}

/** Element-wise Object.is, one level into arrays: what "the same value" means for a plain message. */
function sameMessage(a: unknown, b: unknown): boolean {
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
  return a.every((value, i) => {
    const other = b[i];
    if (!Array.isArray(value)) return Object.is(value, other);
    return Array.isArray(other) && value.length === other.length && value.every((v, j) => j in other && Object.is(v, other[j]));
  });
}

// Values that are plain, and some that are not (-0, lone surrogates): those must be refused, not carried.
const plainValue = fc.oneof(
  fc.double(),
  fc.constant(-0),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ maxLength: 40 }),
  // Halves of surrogate pairs, alone or paired by chance, among other characters.
  fc.string({
    unit: fc.oneof(
      fc.constantFrom('a', 'é', '🙂'),
      fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
    ),
    maxLength: 6,
  }),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
);

const plainMessage: fc.Arbitrary<Message> = fc.oneof(
  fc.tuple(fc.constant(Kind.Call), fc.nat(), fc.string({ maxLength: 20 }), fc.array(plainValue, { maxLength: 12 })),
  fc.tuple(fc.constant(Kind.Notify), fc.string({ maxLength: 20 }), fc.array(plainValue, { maxLength: 12 })),
  fc.tuple(fc.constant(Kind.Reply), fc.nat(), plainValue),
) as fc.Arbitrary<Message>;

test('a plain message arrives the same by clone and by the codec, and its bound covers its encoding', (t) => {
  fc.assert(
    fc.property(plainMessage, (message) => {
      const bound = plainMessageBytes(message);
      if (bound < 0) return true; // not plain: it takes the codec's path, nothing to check
      const encoded = encoder.encode(message).byteLength;
      return (
        bound >= encoded && sameMessage(structuredClone(message), throughCodec(message)) && sameMessage(message, throughCodec(message))
      );
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('small messages of numbers, strings, booleans, null and undefined are plain', (t) => {
  const messages: Message[] = [
    [Kind.Call, 1, 'inc', [1]],
    [Kind.Call, 2 ** 40, 'put', ['key', 'välue 🙂', 3.25, true, null, undefined]],
    [Kind.Notify, 'tick', []],
    [Kind.Reply, 7, Number.NaN],
    [Kind.Reply, 8, Number.NEGATIVE_INFINITY],
    [Kind.Cancel, 9],
    [Kind.Goodbye],
  ];
  for (const message of messages) {
    const bound = plainMessageBytes(message);
    t.true(bound >= encoder.encode(message).byteLength, JSON.stringify(message));
    t.true(sameMessage(structuredClone(message), throughCodec(message)));
  }
});

test('anything the two would carry differently, or that is not small, is not plain', (t) => {
  const sparse: unknown[] = [1];
  sparse[2] = 3;
  const notPlain: [string, Message][] = [
    ['-0 (the codec writes the integer 0)', [Kind.Reply, 1, -0]],
    ['-0 among the arguments', [Kind.Call, 1, 'f', [1, -0]]],
    ['a lone surrogate (UTF-8 cannot carry it)', [Kind.Call, 1, 'f', ['a\uD800b']]],
    ['a lone surrogate in the method name', [Kind.Call, 1, '\uDC00', []]],
    ['a sparse arguments array', [Kind.Call, 1, 'f', sparse]],
    ['an object argument', [Kind.Call, 1, 'f', [{ a: 1 }]]],
    ['a nested array', [Kind.Call, 1, 'f', [[1, 2]]]],
    ['a BigInt', [Kind.Reply, 1, 10n]],
    ['a Map', [Kind.Reply, 1, new Map()]],
    ['a Buffer', [Kind.Call, 1, 'f', [Buffer.from('x')]]],
    ['an arguments array of another class', [Kind.Call, 1, 'f', new (class extends Array {})()]],
    ['a fault (its error is an object)', [Kind.Fault, 1, { name: 'Error', message: 'x' }]],
    ['a string past the bound', [Kind.Call, 1, 'f', ['x'.repeat(MAX_PLAIN_BYTES)]]],
    ['many arguments past the bound', [Kind.Call, 1, 'f', Array.from({ length: 200 }, (_, i) => i)]],
  ] as [string, Message][];
  for (const [what, message] of notPlain) t.is(plainMessageBytes(message), -1, what);
});
