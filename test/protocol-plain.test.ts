/**
 * Plain messages (src/protocol/plain.ts): the ones a MessagePort may clone instead of carrying their
 * encoding. Plain must mean "clone and the codec give the same value", and the size bound must hold.
 */
import test from 'ava';
import fc from 'fast-check';
import { Decoder, Encoder } from '../src/protocol/codec.js';
import { Kind, type Message } from '../src/protocol/messages.js';
import { MAX_PLAIN_BYTES, MAX_PLAIN_DEPTH, copyPlainMessage, plainMessageBytes } from '../src/protocol/plain.js';
import { sameValue } from './helpers/same-value.js';

const encoder = new Encoder();
const decoder = new Decoder();

function throughCodec(message: unknown): unknown {
  return decoder.decode(encoder.encode(message));
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

/** Keys, among them those msgpackr treats apart, integer-like ones, and ones with lone surrogates. */
const key = fc.oneof(
  fc.constantFrom('a', 'b', 'from', 'to', 'amount'),
  fc.constantFrom('0', '1', '10', '4294967294', '4294967295', '-1', '01', '1.0', ''),
  fc.constantFrom('__proto__', 'constructor', 'hasOwnProperty', '__keys__', 'toJSON', 'length'),
  fc.string({ maxLength: 8 }),
  fc.constantFrom('\uD800', 'x\uDC00'),
);

/** Own data properties, defined (not assigned: an own `__proto__` key must be a key, not a prototype). */
function defineAll(target: object, entries: readonly (readonly [string, unknown])[]): object {
  for (const [name, value] of entries) Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
  return target;
}

class WithToJson {
  constructor(readonly a: unknown) {}
  toJSON() {
    return 'as JSON';
  }
}

/** An accessor that answers a plain value first and -0 (not plain) after: a check must not read it. */
function changingGetter(target: object, name: string | number): object {
  let reads = 0;
  return Object.defineProperty(target, name, { get: () => (reads++ === 0 ? 1 : -0), enumerable: true, configurable: true });
}

type Tree = { value: unknown };
const { value: nestedValue } = fc.letrec<Tree>((tie) => {
  const inner = tie('value');
  const entries = fc.array(fc.tuple(key, inner), { maxLength: 6 });
  return {
    value: fc.oneof(
      { depthSize: 'small', maxDepth: MAX_PLAIN_DEPTH + 1 },
      { arbitrary: plainValue, weight: 6 },
      // Plain containers, and the same with what both sides ignore (symbol keys, hidden properties).
      { arbitrary: entries.map((e) => defineAll({}, e)), weight: 3 },
      { arbitrary: fc.array(inner, { maxLength: 6 }), weight: 2 },
      entries.map((e) => Object.assign(defineAll({}, e), { [Symbol('s')]: 1 })),
      entries.map((e) => Object.defineProperty(defineAll({}, e), 'hidden', { value: -0, enumerable: false })),
      // Objects whose bound is tight (1-byte values): little slack in the bound to hide a miscount of keys.
      fc.array(fc.tuple(key, fc.constantFrom(null, true, false)), { maxLength: 8 }).map((e) => defineAll({}, e)),
      // Objects of one shape, so that msgpackr reuses a record (and, past three uses, reads it another way).
      fc.tuple(fc.uniqueArray(key, { maxLength: 4 }), fc.integer({ min: 2, max: 6 }), plainValue).map(([names, count, value]) =>
        Array.from({ length: count }, (_, i) =>
          defineAll(
            {},
            names.map((n) => [n, i === 0 ? value : i]),
          ),
        ),
      ),
      // Not plain: each is carried differently by the two, or refused by one of them.
      entries.map((e) => defineAll(Object.create(null), e)),
      entries.map((e) => new WithToJson(defineAll({}, e))),
      entries.map((e) => changingGetter(defineAll({}, e), 'got')),
      fc.array(inner, { maxLength: 4 }).map((a) => changingGetter(a, a.length)),
      fc.array(inner, { minLength: 1, maxLength: 4 }).map((a) => Object.assign(a, { extra: 1 })),
      fc.array(inner, { minLength: 1, maxLength: 4 }).map((a) => {
        delete a[0];
        return a;
      }),
      // A hole and another property: as many keys as elements.
      fc.array(inner, { minLength: 2, maxLength: 4 }).map((a) => {
        delete a[0];
        return Object.assign(a, { x: 1 });
      }),
      entries.map((e) => defineAll({}, [...e, ['constructor', 1], ['toJSON', 2]])),
      entries.map((e) => new Proxy(defineAll({}, e), {})),
      fc.array(inner, { maxLength: 4 }).map((a) => new Proxy(a, {})),
      entries.map((e) => new Map(e)),
      entries.map((e) => {
        const cyclic = defineAll({}, e) as { self?: unknown };
        cyclic.self = [cyclic];
        return cyclic;
      }),
    ),
  };
});

const message: fc.Arbitrary<Message> = fc.oneof(
  fc.tuple(fc.constant(Kind.Call), fc.nat(), fc.string({ maxLength: 20 }), fc.array(nestedValue, { maxLength: 6 })),
  fc.tuple(fc.constant(Kind.Notify), fc.string({ maxLength: 20 }), fc.array(nestedValue, { maxLength: 6 })),
  fc.tuple(fc.constant(Kind.Reply), fc.nat(), nestedValue),
  // Not a message, but a bare value in an array: the bound is checked without a message's slack.
  fc.array(nestedValue, { minLength: 1, maxLength: 3 }),
) as fc.Arbitrary<Message>;

test('a plain message arrives the same by clone and by the codec, and its bound covers its encoding', (t) => {
  let plain = 0;
  fc.assert(
    fc.property(message, (message) => {
      const bound = plainMessageBytes(message);
      if (bound < 0) return true; // not plain: it takes the codec's path, nothing to check
      plain++;
      const encoded = encoder.encode(message).byteLength;
      return bound >= encoded && sameValue(structuredClone(message), throughCodec(message));
    }),
    { numRuns: 3000 },
  );
  t.true(plain > 500, `${plain} of 3000 messages were plain`);
});

test('small messages of primitives, plain arrays and plain objects are plain', (t) => {
  const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i]));
  // More record shapes in one message than msgpackr numbers before it takes its numbers again.
  const shapes = Array.from({ length: 70 }, (_, i) => ({ [String.fromCharCode(0x41 + i)]: null }));
  const messages: Message[] = [
    [Kind.Call, 1, 'inc', [1]],
    [Kind.Call, 2 ** 40, 'put', ['key', 'välue 🙂', 3.25, true, null, undefined]],
    [Kind.Call, 3, 'transfer', [{ from: 1, to: 2, amount: 5 }]],
    [Kind.Call, 4, 'put', [{ b: 1, 2: 'x', 1: 'y', a: { nested: [1, 'two'] }, '4294967295': 5, '-1': 6, '01': 7 }]],
    [Kind.Call, 5, 'empty', [{}, []]],
    [Kind.Call, 6, 'many', [many]],
    [Kind.Call, 7, 'shapes', [shapes]],
    [Kind.Call, 8, 'toJSON', [{ toJSON: 1, length: 2 }]],
    [Kind.Notify, 'tick', []],
    [Kind.Reply, 7, Number.NaN],
    [Kind.Reply, 8, [[1, 2], { a: [] }]],
    [Kind.Cancel, 9],
    [Kind.Goodbye],
    [Kind.Goodbye, { exitCode: 1, crashed: true }],
    [
      Kind.Goodbye,
      { exitCode: 1, crashed: true, error: { name: 'TypeError', message: 'boom', stack: 'TypeError: boom', data: { code: 'E' } } },
    ],
  ];
  for (const message of messages) {
    const bound = plainMessageBytes(message);
    t.true(bound >= encoder.encode(message).byteLength, JSON.stringify(message));
    t.true(sameValue(structuredClone(message), throughCodec(message)), JSON.stringify(message));
    t.true(sameValue(message, throughCodec(message)), JSON.stringify(message));
  }
});

test('anything the two would carry differently, or that is not small, is not plain', (t) => {
  const sparse: unknown[] = [1];
  sparse[2] = 3;
  const withExtra = Object.assign([1, 2], { extra: 3 });
  const holeAndExtra: unknown[] = Object.assign([1, 2, 3], { x: 4 });
  delete holeAndExtra[1];
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  let deep: unknown = 1;
  // The reply's value is at depth 1: this array's innermost is one past MAX_PLAIN_DEPTH.
  for (let i = 0; i <= MAX_PLAIN_DEPTH; i++) deep = [deep];
  const throwing = Object.defineProperty({}, 'x', {
    get() {
      throw new Error('read');
    },
    enumerable: true,
  });
  const notPlain: [string, Message][] = [
    ['-0 (the codec writes the integer 0)', [Kind.Reply, 1, -0]],
    ['-0 among the arguments', [Kind.Call, 1, 'f', [1, -0]]],
    ['-0 in an object', [Kind.Call, 1, 'f', [{ a: -0 }]]],
    ['a lone surrogate (UTF-8 cannot carry it)', [Kind.Call, 1, 'f', ['a\uD800b']]],
    ['a lone surrogate in the method name', [Kind.Call, 1, '\uDC00', []]],
    ['a lone surrogate in a key', [Kind.Call, 1, 'f', [{ '\uD800': 1 }]]],
    ['a sparse arguments array', [Kind.Call, 1, 'f', sparse]],
    ['a sparse array', [Kind.Reply, 1, sparse]],
    ['an array with another property', [Kind.Reply, 1, withExtra]],
    ['an array with a hole and another property', [Kind.Reply, 1, holeAndExtra]],
    ['an array of another class', [Kind.Reply, 1, new (class extends Array {})()]],
    ['an arguments array of another class', [Kind.Call, 1, 'f', new (class extends Array {})()]],
    ['an array with an accessor', [Kind.Reply, 1, changingGetter([1], 0)]],
    ['an object with an accessor', [Kind.Call, 1, 'f', [changingGetter({}, 'a')]]],
    ['an accessor that throws', [Kind.Call, 1, 'f', [throwing]]],
    ['a Proxy', [Kind.Call, 1, 'f', [new Proxy({}, {})]]],
    ['a Proxy of an array', [Kind.Reply, 1, new Proxy([1], {})]],
    ['a null-prototype object', [Kind.Call, 1, 'f', [Object.create(null)]]],
    ['a class instance', [Kind.Call, 1, 'f', [new WithToJson(1)]]],
    ['an own __proto__ key (the codec renames it)', [Kind.Call, 1, 'f', [defineAll({}, [['__proto__', 1]])]]],
    ['an own constructor key', [Kind.Call, 1, 'f', [{ constructor: 1, toJSON: 2 }]]],
    ['an own hasOwnProperty key', [Kind.Call, 1, 'f', [{ hasOwnProperty: 1 }]]],
    ['an own __keys__ key', [Kind.Call, 1, 'f', [{ a: 1, __keys__: 2 }]]],
    ['a cycle', [Kind.Call, 1, 'f', [cyclic]]],
    ['nesting past the depth', [Kind.Reply, 1, deep]],
    ['a BigInt', [Kind.Reply, 1, 10n]],
    ['a Map', [Kind.Reply, 1, new Map()]],
    ['a Set in an object', [Kind.Reply, 1, { s: new Set() }]],
    ['a Date', [Kind.Reply, 1, new Date(0)]],
    ['a Buffer', [Kind.Call, 1, 'f', [Buffer.from('x')]]],
    ['a function in an object', [Kind.Call, 1, 'f', [{ f: () => 1 }]]],
    ['a string past the bound', [Kind.Call, 1, 'f', ['x'.repeat(MAX_PLAIN_BYTES)]]],
    ['many arguments past the bound', [Kind.Call, 1, 'f', Array.from({ length: 200 }, (_, i) => i)]],
    ['many keys past the bound', [Kind.Reply, 1, Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, i]))]],
    ['a long array past the bound', [Kind.Reply, 1, new Array(1e6).fill(0)]],
  ] as [string, Message][];
  for (const [what, message] of notPlain) t.is(plainMessageBytes(message), -1, what);
  let shallow: unknown = 1;
  for (let i = 0; i < MAX_PLAIN_DEPTH; i++) shallow = [shallow];
  t.true(plainMessageBytes([Kind.Reply, 1, shallow]) > 0, 'nesting to the depth is plain');
});

test('each key kept out of plain objects is one msgpackr carries otherwise than structured clone', (t) => {
  const differs = (value: object) => {
    const fresh = new Encoder();
    try {
      return !sameValue(structuredClone(value), decoder.decode(fresh.encode(value)));
    } catch (error) {
      // The codec refuses to encode it, or its encoding does not decode.
      return ['ERR_CONVOY_SERIALIZE', 'ERR_CONVOY_PROTOCOL'].includes((error as { code?: string }).code!);
    }
  };
  t.true(differs(defineAll({}, [['__proto__', 1]])), '__proto__ arrives as __proto_');
  // With an own `constructor`, the encoder does not take the object for a plain one, and calls its `toJSON`.
  t.true(differs({ constructor: 1, toJSON: 2 }), 'constructor');
  // With an own `hasOwnProperty`, the encoder writes the values of inherited enumerable properties too (but
  // not their keys): the bytes do not decode.
  Object.defineProperty(Object.prototype, 'inherited', { value: 1, enumerable: true, configurable: true });
  try {
    t.true(differs({ hasOwnProperty: 1 }), 'hasOwnProperty');
  } finally {
    delete (Object.prototype as { inherited?: unknown }).inherited;
  }
  // msgpackr keeps each record's keys in its cache of records under `__keys__`, so the codec refuses an
  // object with that key (protocol-codec); clone would carry it.
  t.true(differs({ a: 1, __keys__: 2 }), '__keys__');
});

// A lone plain message is queued as a copy (channel-value-frames tests why). A review of that change: the
// copy took keys by for…in, so an enumerable key put on Object.prototype became every copy's own, and
// crossed, where clone and the codec take own keys only.
test('the copy of a plain message is a tree of its own keys, whatever Object.prototype holds', (t) => {
  const shared = { n: 1 };
  const message: Message = [Kind.Call, 1, 'take', [{ a: 1, list: [shared, shared] }]];
  const proto = Object.prototype as Record<string, unknown>;
  proto.polluted = 'from a library';
  let copy: Message;
  try {
    t.true(plainMessageBytes(message) > 0);
    copy = copyPlainMessage(message);
  } finally {
    delete proto.polluted;
  }
  t.deepEqual(copy, message);
  const argument = (copy[3] as unknown[])[0] as { a: number; list: object[] };
  t.deepEqual(Object.keys(argument), ['a', 'list']);
  t.not(argument, (message[3] as unknown[])[0], 'copied, not shared with the caller');
  t.not(argument.list[0], argument.list[1], 'an object held twice is copied twice, as the codec carries it');
});
