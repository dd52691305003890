import test from 'ava';
import { Decoder, Encoder } from '../src/protocol/codec.js';
import { ProtocolError, SerializationError } from '../src/errors.js';

/** Values that must come back as the same type and contents (what structured clone would give). */
const ROUND_TRIP: ReadonlyArray<[string, unknown]> = [
  [
    'Map with mixed keys',
    new Map<unknown, unknown>([
      [1, 'one'],
      ['k', { x: [1, 2] }],
      [2n, null],
    ]),
  ],
  ['Set', new Set([1, 'a', 3n])],
  ['undefined', undefined],
  ['undefined in an array', [undefined, 1, undefined]],
  ['undefined as an object value', { present: 1, missing: undefined }],
  ['BigInt beyond 64 bits', -(2n ** 70n) + 1n],
  ['small BigInt', 10n],
  ['Uint8Array', new Uint8Array([0, 1, 254, 255])],
  ['empty Uint8Array', new Uint8Array(0)],
  ['Float64Array', new Float64Array([1.5, -2.25, Number.MAX_VALUE])],
  ['Date', new Date(1_700_000_000_123)],
  ['NaN and Infinity', [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]],
  ['unicode string', 'héllo \u{1F680} 世界'],
  ['nested maps and sets', { m: new Map([['s', new Set([new Map([[1, 2]])])]]) }],
  ['null', null],
  ['large integer', Number.MAX_SAFE_INTEGER],
];

for (const [name, value] of ROUND_TRIP) {
  test(`round-trips ${name}`, (t) => {
    const decoded = new Decoder().decode(new Encoder().encode(value));
    t.deepEqual(decoded, value);
    if (value !== null && value !== undefined) t.is((decoded as object).constructor, (value as object).constructor);
  });
}

const UNENCODABLE: ReadonlyArray<[string, unknown, string]> = [
  ['a function', () => 1, 'A function cannot be sent'],
  ['a symbol', Symbol('s'), 'A symbol cannot be sent'],
  ['a method in an object', { f() {} }, 'A function cannot be sent'],
  ['a symbol deep in an array', [1, [2, [Symbol.iterator]]], 'A symbol cannot be sent'],
  ['a function as a Map value', new Map([['k', () => 2]]), 'A function cannot be sent'],
  ['an object with an own key __keys__', [{ a: 1, __keys__: 2 }], 'An object with an own key "__keys__" cannot be sent'],
  // msgpackr wrote it as an empty object, where structured clone shares it between threads.
  ['a SharedArrayBuffer', { memory: new SharedArrayBuffer(8) }, 'A SharedArrayBuffer cannot be sent: a channel carries copies'],
];

for (const [name, value, message] of UNENCODABLE) {
  test(`refuses ${name} with SerializationError: "${message}"`, (t) => {
    const error = t.throws(() => new Encoder().encode(value), { instanceOf: SerializationError });
    t.is(error?.code, 'ERR_CONVOY_SERIALIZE');
    t.true(error?.message.startsWith(message), error?.message);
  });
}

test('a typed array over a SharedArrayBuffer is sent as a copy of its bytes', (t) => {
  const shared = new Int32Array(new SharedArrayBuffer(8));
  shared[1] = 7;
  const decoded = new Decoder().decode(new Encoder().encode(shared)) as Int32Array;
  t.true(decoded instanceof Int32Array);
  t.deepEqual([...decoded], [0, 7]);
  t.false(decoded.buffer instanceof SharedArrayBuffer);
});

test('a failed encode leaves the encoder usable: later messages of the same shape decode on their own', (t) => {
  const encoder = new Encoder();
  const before = encoder.encode({ a: 0, b: 'x' });
  t.throws(() => encoder.encode({ a: 1, b: () => 1 }), { instanceOf: SerializationError });
  t.throws(() => encoder.encode([{ a: 1, b: Symbol('s') }]), { instanceOf: SerializationError });
  const after = [encoder.encode({ a: 2, b: 'y' }), encoder.encode([{ a: 3, b: 'z' }])];
  // Each message decodes alone (nothing depends on a message that was never sent) and concatenated.
  t.deepEqual(new Decoder().decode(after[0]!), { a: 2, b: 'y' });
  t.deepEqual(new Decoder().decode(after[1]!), [{ a: 3, b: 'z' }]);
  t.deepEqual(new Decoder().decodeAll(Buffer.concat([before, ...after])), [{ a: 0, b: 'x' }, { a: 2, b: 'y' }, [{ a: 3, b: 'z' }]]);
});

test('an object with a __keys__ key is refused before it can spoil the encoder: later objects of its shapes decode', (t) => {
  const encoder = new Encoder();
  t.throws(() => encoder.encode([{ a: 1, __keys__: 2 }]), { instanceOf: SerializationError });
  t.throws(() => encoder.encode({ nested: { b: [{ __keys__: [] }] } }), { instanceOf: SerializationError });
  // msgpackr keeps record keys in its shape cache under `__keys__`: unguarded, this shape encodes wrong from then on.
  t.deepEqual(new Decoder().decode(encoder.encode([{ a: 1 }])), [{ a: 1 }]);
  t.deepEqual(new Decoder().decode(encoder.encode({ nested: { b: [{}] } })), { nested: { b: [{}] } });
  // A Map may have the key: Maps are not records.
  t.deepEqual(new Decoder().decode(encoder.encode(new Map([['__keys__', 1]]))), new Map([['__keys__', 1]]));
});

// A review's: msgpackr names a record's keys by Object.keys but writes its values by a for…in filtered
// through `object.hasOwnProperty`. Shadowed by a non-function, inherited values were written too: a frame
// the receiver could not decode, which closed the channel as a broken peer would (the worker died).
test('an object whose hasOwnProperty is not a function and that inherits enumerable keys is refused; one that inherits none is sent', (t) => {
  const encoder = new Encoder();
  const tricky = Object.assign(Object.create({ color: 'red' }) as Record<string, unknown>, { hasOwnProperty: 'a word', size: 2 });
  const error = t.throws(() => encoder.encode({ tricky }), { instanceOf: SerializationError });
  t.regex(error!.message, /"hasOwnProperty" does not tell its own keys/);
  // Nothing inherited: the for…in sees own keys only, and the record is whole.
  t.deepEqual(new Decoder().decode(encoder.encode([{ hasOwnProperty: 1, a: 1 }])), [{ hasOwnProperty: 1, a: 1 }]);
  t.deepEqual(new Decoder().decode(encoder.encode({ size: 2 })), { size: 2 });
  // From the review of that fix: a hasOwnProperty that is a function but does not tell the own keys (a
  // class's method of that name) garbled the record the same way.
  class Dict {
    readonly entries = new Map([['k', 1]]);
    hasOwnProperty(key: string): boolean {
      return this.entries.has(key);
    }
  }
  t.throws(() => encoder.encode([new Dict()]), { instanceOf: SerializationError, message: /does not tell its own keys/ });
  // One that answers as Object.hasOwn does is sent.
  class Honest {
    readonly a = 1;
    hasOwnProperty(key: string): boolean {
      return Object.hasOwn(this, key);
    }
  }
  t.deepEqual(new Decoder().decode(encoder.encode([new Honest()])), [{ a: 1 }]);
});

test('encoded bytes stay valid while later messages are encoded (a channel queues them before flushing)', (t) => {
  const encoder = new Encoder();
  const messages = Array.from({ length: 2000 }, (_, i) => ({ i, text: 'x'.repeat(i % 300) }));
  const encoded = messages.map((m) => encoder.encode(m));
  // A message past the large-message threshold replaces the encoder's buffer; earlier bytes must survive it.
  const large = encoder.encode({ big: new Uint8Array(2 << 20) });
  encoded.push(encoder.encode({ i: -1, text: 'after' }));
  t.deepEqual(new Decoder().decodeAll(Buffer.concat(encoded)), [...messages, { i: -1, text: 'after' }]);
  t.is((new Decoder().decode(large) as { big: Uint8Array }).big.byteLength, 2 << 20);
});

const UNDECODABLE: ReadonlyArray<[string, number[]]> = [
  ['an empty frame', []],
  ['a truncated array', [0x92, 0x01]],
  ['an array claiming 4G elements', [0xdd, 0xff, 0xff, 0xff, 0xff]],
  ['a truncated string', [0xa5, 0x61]],
  ['a truncated extension', [0xd4, 0x72]],
];

for (const [name, bytes] of UNDECODABLE) {
  test(`decodeAll throws ProtocolError for ${name}`, (t) => {
    t.throws(() => new Decoder().decodeAll(Buffer.from(bytes)), { instanceOf: ProtocolError });
  });
}

test('values decoded from a small frame stay intact when the next frame of the same size is decoded', (t) => {
  // Small frames are decoded from a reused source of their size: nothing decoded may point into it.
  const encoder = new Encoder();
  const decoder = new Decoder();
  const value = (fill: number) => ({
    buffer: Buffer.alloc(8, fill),
    bytes: new Uint8Array(8).fill(fill),
    floats: new Float64Array([fill, fill]),
    text: String.fromCharCode(97 + fill).repeat(20),
    map: new Map([[fill, String.fromCharCode(107 + fill).repeat(3)]]),
  });
  const first = encoder.encode(value(1)).slice();
  const second = encoder.encode(value(2)).slice();
  t.is(first.byteLength, second.byteLength, 'the same size, so the same reused source');
  const decoded: unknown[] = [];
  decoder.decodeEach(first, (v) => decoded.push(v) > 0);
  decoder.decodeEach(second, (v) => decoded.push(v) > 0);
  t.deepEqual(decoded, [value(1), value(2)]);
  t.true(Buffer.isBuffer((decoded[0] as { buffer: unknown }).buffer), 'a Buffer stays a Buffer');
});

test('a large frame in shared memory is decoded from a copy: what the ring writes over later cannot reach its values', (t) => {
  // The copy is what lets msgpackr's native string extractor read it (it refuses shared memory); seen here
  // as a write into the shared bytes of a later value, made while an earlier one is handed over, which
  // a decode in place would read.
  const encoder = new Encoder();
  const parts = Array.from({ length: 200 }, (_, i) => encoder.encode({ text: `message ${i}`.padEnd(20, '.') }).slice());
  const length = parts.reduce((sum, part) => sum + part.byteLength, 0);
  t.true(length > 1024, 'past the small frames decoded from a reused source');
  const shared = new Uint8Array(new SharedArrayBuffer(length + 16), 8, length);
  let at = 0;
  for (const part of parts) {
    shared.set(part, at);
    at += part.byteLength;
  }
  const lastText = Buffer.from(shared.subarray(length - 20));
  t.is(lastText.toString('latin1'), 'message 199.........');
  const decoded: unknown[] = [];
  new Decoder().decodeEach(shared, (value, index) => {
    if (index === 0) shared.fill(0x2e, length - 20);
    return decoded.push(value) > 0;
  });
  t.is(decoded.length, 200);
  t.deepEqual(decoded.at(-1), { text: 'message 199.........' });
});
