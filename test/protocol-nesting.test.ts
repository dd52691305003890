import test from 'ava';
import { SerializationError } from '../src/errors.js';
import { Decoder, Encoder } from '../src/protocol/codec.js';
import { MAX_NESTING_DEPTH, cloneProblem, nestsDeeperThan } from '../src/protocol/nesting.js';

/** Arrays `depth` levels below the top one: `[[…[]…]]`. */
function arrays(depth: number): unknown[] {
  let value: unknown[] = [];
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

test('nestsDeeperThan counts levels of arrays, objects, Maps, Sets and error causes below the value', (t) => {
  t.false(nestsDeeperThan(arrays(5), 5));
  t.true(nestsDeeperThan(arrays(6), 5));
  t.false(nestsDeeperThan({ a: { b: { c: 1 } } }, 2));
  t.true(nestsDeeperThan({ a: { b: { c: {} } } }, 2));
  t.true(nestsDeeperThan(new Map([['k', new Map([['k', [[]]]])]]), 2), 'a Map value');
  t.true(nestsDeeperThan(new Map([[[[[]]], 1]]), 2), 'a Map key');
  t.true(nestsDeeperThan(new Set([new Set([[[]]])]), 2));
  t.true(nestsDeeperThan(new Error('top', { cause: new Error('a', { cause: new Error('b', { cause: new Error('c') }) }) }), 2));
  t.true(nestsDeeperThan(new AggregateError([new AggregateError([[[]]])]), 3), 'errors of an AggregateError');
  t.false(nestsDeeperThan(7, 0), 'a primitive is no container');
});

test('nestsDeeperThan: binary data and Dates are leaves; the deepest branch counts, wherever it is', (t) => {
  t.false(nestsDeeperThan([[new Uint8Array(1 << 16)]], 1), 'a typed array’s elements are not levels');
  t.false(nestsDeeperThan([[new ArrayBuffer(8), new Date(0), Buffer.alloc(4)]], 1));
  t.true(nestsDeeperThan([1, 'x', [2, [3]], [[4, [5, [6]]]]], 3), 'the last element is the deep one');
});

test('cloneProblem: a shared object is walked once and a cycle ends', (t) => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  t.is(cloneProblem(cyclic, 3), undefined);
  const deep = arrays(4);
  t.is(cloneProblem([deep, deep], 4), 'it nests deeper than 4 levels');
  t.is(cloneProblem([deep, deep], 5), undefined);
  // 2^60 paths through 61 objects: walked once each, not once per path.
  let shared: unknown[] = [];
  for (let i = 0; i < 60; i++) shared = [shared, shared];
  t.is(cloneProblem(shared, 100), undefined);
  t.is(cloneProblem(shared, 50), 'it nests deeper than 50 levels');
});

test('cloneProblem names what structured clone refuses, or a nesting too deep, and accepts cycles', (t) => {
  const cyclic: Record<string, unknown> = { n: 1 };
  cyclic.self = cyclic;
  t.is(cloneProblem(cyclic, 10), undefined);
  t.is(cloneProblem({ a: [1, { f: () => 1 }] }, 10), 'it holds a function');
  t.is(cloneProblem(new Map([['k', Symbol('s')]]), 10), 'it holds a symbol');
  t.is(
    cloneProblem(() => 1, 10),
    'it holds a function',
  );
  t.is(cloneProblem(arrays(11), 10), 'it nests deeper than 10 levels');
  t.is(cloneProblem([new Uint8Array(4), 'text', 1n, null], 10), undefined);
});

test('nestsDeeperThan never throws: a getter that throws ends the walk', (t) => {
  const hostile = {
    get boom(): never {
      throw new Error('getter');
    },
  };
  t.false(nestsDeeperThan([hostile], 5));
});

test('cloneProblem names a getter or proxy that throws: clone would read it, and throw', (t) => {
  const hostile = {
    get boom(): never {
      throw new Error('getter');
    },
  };
  t.is(cloneProblem([{ ok: 1 }, hostile], 5), 'reading it threw: getter');
  const trap = new Proxy(
    {},
    {
      ownKeys: () => {
        throw 'no keys';
      },
    },
  );
  t.is(cloneProblem({ inner: trap }, 5), 'reading it threw: no keys');
});

test(`the codec refuses a value nested past ${MAX_NESTING_DEPTH} levels with SerializationError, and carries one within`, (t) => {
  const encoder = new Encoder();
  const decoder = new Decoder();
  // The message is level 0: the value below it may nest MAX_NESTING_DEPTH - 1 levels more.
  const within = [arrays(MAX_NESTING_DEPTH - 1)];
  t.deepEqual(decoder.decode(encoder.encode(within)), within);
  const error = t.throws(() => encoder.encode([arrays(MAX_NESTING_DEPTH)]), { instanceOf: SerializationError });
  t.is(error?.message, `Cannot encode value: it nests deeper than ${MAX_NESTING_DEPTH} levels`);
  t.deepEqual(decoder.decode(encoder.encode([1, 'after'])), [1, 'after'], 'the encoder goes on');
});

test('a large message refused for its depth does not leave the encoder holding its buffer', (t) => {
  const encoder = new Encoder();
  const large = ['x'.repeat(2 << 20), arrays(MAX_NESTING_DEPTH)];
  t.throws(() => encoder.encode(large), { instanceOf: SerializationError });
  encoder.encodeScratch([1]);
  t.true(encoder.scratch.buffer.byteLength < 1 << 20, `${encoder.scratch.buffer.byteLength} bytes held`);
});
