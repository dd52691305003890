/**
 * Encoding failures are per call (docs/semantics.md §10, SerializationError): a bad argument or result fails
 * only its own call; the channel and the rest of its batch go on. And values round-trip the same over
 * every transport.
 */
import test from 'ava';
import { SerializationError } from '../src/errors.js';
import { outcome, withDeadline } from './helpers/deadline.js';
import { TRANSPORT_KINDS, createPair } from './helpers/pairs.js';
import { failOnLeaks } from './helpers/leaks.js';

failOnLeaks(test);

const ROUND_TRIP: ReadonlyArray<[string, unknown]> = [
  [
    'Map',
    new Map<unknown, unknown>([
      [1, 'one'],
      ['k', { x: [1, 2] }],
      [3n, new Set([1])],
    ]),
  ],
  ['Set', new Set([1, 'a', 3n, null])],
  ['undefined', undefined],
  ['undefined inside arrays and objects', { list: [undefined, 1], missing: undefined }],
  ['BigInt', -(2n ** 100n)],
  ['Uint8Array', new Uint8Array([0, 1, 2, 253, 254, 255])],
  ['Buffer (stays a Buffer on every transport)', Buffer.from([7, 8, 9])],
  ['Float32Array', new Float32Array([0.5, -1.25])],
  ['Date', new Date(1_700_000_000_000)],
  ['nested mix', { m: new Map([['s', new Set([new Uint8Array([9])])]]), n: [1n, undefined, 'é'] }],
];

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: Map, Set, undefined, BigInt, typed arrays round-trip identically, as arguments and as results`, async (t) => {
    const received: unknown[] = [];
    const api = {
      echo(value: unknown) {
        received.push(value);
        return value;
      },
    };
    const { a } = await createPair(t, kind, { b: { api } });
    for (const [name, value] of ROUND_TRIP) {
      const back = await withDeadline(a.call('echo', [value]), 5000, name);
      t.deepEqual(received.at(-1), value, `${name} as an argument`);
      t.deepEqual(back, value, `${name} as a result`);
      if (value !== undefined) t.is((back as object).constructor, (value as object).constructor, `${name} keeps its type`);
    }
    // No arguments at all arrive as undefined.
    t.is(await a.call('echo', []), undefined);
  });

  test(`${kind}: a received Buffer or Uint8Array owns its memory, as with structured clone: no view into the batch`, async (t) => {
    const received: Uint8Array[] = [];
    const { a } = await createPair(t, kind, { b: { api: { take: (bytes: Uint8Array) => void received.push(bytes) } } });
    // A batch of several messages: a view into the frame would show its neighbours through `.buffer`.
    const sent = [Buffer.from('first'), new Uint8Array([1, 2, 3]), Buffer.alloc(2000, 9), Buffer.from('last')];
    await withDeadline(Promise.all(sent.map((bytes) => a.call('take', [bytes]))), 5000, 'calls');
    t.is(received.length, sent.length);
    received.forEach((bytes, i) => {
      t.is(bytes.constructor, sent[i]!.constructor);
      t.deepEqual(new Uint8Array(bytes), new Uint8Array(sent[i]!));
      t.is(bytes.buffer.byteLength, bytes.byteLength, `message ${i} has a buffer of its own`);
    });
  });

  test(`${kind}: a 2 MiB Uint8Array (larger than maxBatchBytes) round-trips byte-exact`, async (t) => {
    const big = new Uint8Array(2 << 20).map((_, i) => (i * 7) % 251);
    const api = { echo: (value: Uint8Array) => value };
    const { a } = await createPair(t, kind, { b: { api } });
    const back = (await withDeadline(a.call('echo', [big]), 5000, 'echo 2 MiB')) as Uint8Array;
    t.is(back.constructor, Uint8Array);
    // Compared as bytes: a structural deepEqual of millions of elements would take seconds.
    t.true(Buffer.from(back.buffer, back.byteOffset, back.byteLength).equals(Buffer.from(big.buffer)));
  });

  test(`${kind}: a function or symbol argument fails only its own call; neighbours in the same batch succeed`, async (t) => {
    const handled: string[] = [];
    const api = {
      take(label: string) {
        handled.push(label);
        return label;
      },
    };
    const { a } = await createPair(t, kind, { b: { api } });
    // All issued in one turn: one batch.
    const results = await withDeadline(
      Promise.all([
        outcome(a.call('take', ['first'])),
        outcome(a.call('take', ['fn', () => 1])),
        outcome(a.notify('take', ['notify-fn', { callback() {} }])),
        outcome(a.call('take', ['middle'])),
        outcome(a.call('take', ['symbol', Symbol('s')])),
        outcome(a.notify('take', ['notify-symbol', [Symbol.iterator]])),
        outcome(a.notify('take', ['notify-ok'])),
        outcome(a.call('take', ['last'])),
      ]),
      5000,
      'batch',
    );
    const failed = results.map((r, i) => (r.ok ? undefined : i)).filter((i) => i !== undefined);
    t.deepEqual(failed, [1, 2, 4, 5]);
    for (const i of failed) {
      const r = results[i]!;
      t.true(!r.ok && r.error instanceof SerializationError, `#${i}`);
      t.is(!r.ok && (r.error as SerializationError).code, 'ERR_CONVOY_SERIALIZE');
    }
    t.deepEqual(handled, ['first', 'middle', 'notify-ok', 'last']);
    t.false(a.closed);
    t.is(await a.call('take', ['after']), 'after');
  });

  test(`${kind}: an unencodable result fails only that call, as SerializationError naming the method`, async (t) => {
    const api = {
      fine: (n: number) => n,
      giveFunction: () => () => 1,
      giveSymbol: () => ({ s: Symbol('no') }),
      async giveLater() {
        return { fn() {} };
      },
    };
    const { a } = await createPair(t, kind, { b: { api } });
    const results = await withDeadline(
      Promise.all([
        outcome(a.call('fine', [1])),
        outcome(a.call('giveFunction', [])),
        outcome(a.call('fine', [2])),
        outcome(a.call('giveSymbol', [])),
        outcome(a.call('giveLater', [])),
        outcome(a.call('fine', [3])),
      ]),
      5000,
      'results',
    );
    t.deepEqual(
      results.map((r) => (r.ok ? r.value : (r.error as Error).constructor.name)),
      [1, 'SerializationError', 2, 'SerializationError', 'SerializationError', 3],
    );
    for (const [i, method] of [
      [1, 'giveFunction'],
      [3, 'giveSymbol'],
      [4, 'giveLater'],
    ] as const) {
      const r = results[i]!;
      t.true(!r.ok && (r.error as Error).message.includes(method), `#${i} names ${method}`);
    }
    t.is(await a.call('fine', [4]), 4);
  });

  test(`${kind}: a failed encode mid-stream does not corrupt later messages of the same shape`, async (t) => {
    const seen: unknown[] = [];
    const api = {
      take(value: unknown) {
        seen.push(value);
      },
    };
    const { a } = await createPair(t, kind, { b: { api } });
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < 50; i++) {
      // Same record shape each time, every third one unencodable.
      const value = { id: i, payload: i % 3 === 1 ? () => i : `p${i}`, nested: { id: i } };
      sends.push(outcome(a.call('take', [value])));
    }
    await withDeadline(Promise.all(sends), 5000, 'sends');
    const expected = Array.from({ length: 50 }, (_, i) => i)
      .filter((i) => i % 3 !== 1)
      .map((i) => ({ id: i, payload: `p${i}`, nested: { id: i } }));
    t.deepEqual(seen, expected);
  });
}
