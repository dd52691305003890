/**
 * transfer(value, list) inside ordered calls: on a MessagePort (and the in-memory pair) the
 * marked ArrayBuffers move beside the frame instead of being copied into it; over TCP they are encoded
 * inline. On every transport the sender's buffers are detached once the call is made, views keep their
 * type, offset and length, and order with the other calls and notifies is kept.
 */
import test from 'ava';
import { ChannelFullError, SerializationError } from '../src/errors.js';
import { transfer } from '../src/protocol/transfer.js';
import type { Endpoint } from '../src/rpc/endpoint.js';
import { withDeadline } from './helpers/deadline.js';
import { failOnLeaks } from './helpers/leaks.js';
import { filled } from './helpers/mixed-payloads.js';
import { TRANSPORT_KINDS, createPair } from './helpers/pairs.js';

failOnLeaks(test);

const MB = 1 << 20;

/** An endpoint pair whose `b` records what each call and notify brought. */
async function recordingPair(t: Parameters<typeof createPair>[0], kind: (typeof TRANSPORT_KINDS)[number], extra: object = {}) {
  const received: unknown[] = [];
  const api = {
    take(value: unknown) {
      received.push(value);
      return received.length;
    },
    ...extra,
  };
  const { a, b } = await createPair(t, kind, { b: { api } });
  return { a, b, received };
}

/** Byte equality without ava's deepEqual, which takes seconds over a megabyte. */
function sameBytes(actual: unknown, expected: Uint8Array): boolean {
  return actual instanceof Uint8Array && Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(expected);
}

const within = <T>(promise: Promise<T>, what: string): Promise<T> => withDeadline(promise, 10_000, what);

for (const kind of TRANSPORT_KINDS) {
  // Only a MessagePort (with or without shared memory beside it, and the in-memory pair standing for one)
  // moves buffers; across processes and hosts they are encoded inline.
  const moves = kind === 'memory' || kind === 'port' || kind === 'shm';

  test(`${kind}: a transferred argument arrives intact; the sender's buffer is detached as soon as the call is made`, async (t) => {
    const { a, received } = await recordingPair(t, kind);
    const bytes = filled(MB, 7);
    const expected = bytes.slice();
    const call = a.call('take', [transfer(bytes, [bytes.buffer as ArrayBuffer])]);
    t.is(bytes.buffer.byteLength, 0, 'detached synchronously, before the call is even flushed');
    t.is(await within(call, 'call'), 1);
    t.true(sameBytes(received[0], expected));
    t.is((received[0] as Uint8Array).constructor, Uint8Array);
    const stats = a.channel.stats;
    if (moves) {
      t.is(stats.bytesTransferredSent, MB, 'the buffer went beside the frame');
      t.true(stats.bytesSent < 1024, `frames carried ${stats.bytesSent} bytes, not the megabyte`);
    } else {
      t.is(stats.bytesTransferredSent, 0);
      t.true(stats.bytesSent > MB, 'over TCP the bytes are encoded inline');
    }
  });

  test(`${kind}: views keep their kind, offset and length; views over one buffer share it on arrival; Buffer stays a Buffer`, async (t) => {
    const { a, received } = await recordingPair(t, kind);
    const buffer = filled(64, 1).buffer as ArrayBuffer;
    const node = Buffer.from(filled(16, 2));
    const value = {
      whole: buffer,
      window: new Uint8Array(buffer, 8, 16),
      words: new Uint16Array(buffer, 32, 4),
      view: new DataView(buffer, 4, 3),
      inMap: new Map([['k', new Int8Array(buffer, 60, 4)]]),
      inSet: new Set([new Float64Array(buffer, 40, 1)]),
      node,
      untouched: new Uint8Array([1, 2, 3]),
    };
    const snapshot = {
      window: value.window.slice(),
      words: value.words.slice(),
      view: [0, 1, 2].map((i) => value.view.getUint8(i)),
      int8: value.inMap.get('k')!.slice(),
      float: [...value.inSet][0]!.slice(),
      node: Buffer.from(node),
    };
    await within(a.call('take', [transfer(value, [buffer, node.buffer as ArrayBuffer])]), 'call');
    t.is(buffer.byteLength, 0);
    const got = received[0] as typeof value;
    t.deepEqual(got.window, snapshot.window);
    t.is(got.window.byteOffset, moves ? 8 : got.window.byteOffset);
    t.deepEqual(got.words, snapshot.words);
    t.true(got.view instanceof DataView);
    t.deepEqual(
      [0, 1, 2].map((i) => got.view.getUint8(i)),
      snapshot.view,
    );
    t.deepEqual(got.inMap.get('k'), snapshot.int8);
    t.deepEqual([...got.inSet][0], snapshot.float);
    t.true(Buffer.isBuffer(got.node), 'a Buffer arrives as a Buffer, as it does when copied');
    t.deepEqual(Buffer.from(got.node), snapshot.node);
    t.deepEqual(got.untouched, new Uint8Array([1, 2, 3]));
    t.is(got.whole.byteLength, 64);
    if (moves) {
      t.is(got.window.buffer, got.whole, 'views over one transferred buffer share it, as with structured clone');
      t.is(got.words.buffer, got.whole);
    }
  });

  test(`${kind}: a handler's transferred result arrives intact and is detached on the handler's side`, async (t) => {
    let given: Uint8Array | undefined;
    const { a } = await recordingPair(t, kind, {
      give(size: number) {
        given = filled(size, 3);
        return transfer(given, [given.buffer as ArrayBuffer]);
      },
    });
    const got = (await within(a.call('give', [MB]), 'give')) as Uint8Array;
    t.true(sameBytes(got, filled(MB, 3)));
    t.is(given!.byteLength, 0, 'detached once the reply was queued');
  });

  test(`${kind}: transferred notifies batched with calls keep their order and each gets its own buffers`, async (t) => {
    const { a, received } = await recordingPair(t, kind);
    const sent: Promise<unknown>[] = [];
    for (let i = 0; i < 20; i++) {
      const bytes = filled(100 + i, i);
      const marked = transfer([i, bytes], [bytes.buffer as ArrayBuffer]);
      sent.push(i % 3 === 0 ? a.call('take', [marked]) : a.notify('take', [marked]));
    }
    await within(Promise.all(sent), 'all sent');
    await within(a.call('take', ['end']), 'barrier');
    t.is(received.length, 21);
    received.slice(0, 20).forEach((value, i) => {
      t.deepEqual(value, [i, filled(100 + i, i)], `message ${i}`);
    });
    if (moves) t.true(a.channel.stats.batchesSent < 20, 'several transfers shared a frame');
  });

  test(`${kind}: a bad transfer fails only its own call, and leaves the buffers with their owner`, async (t) => {
    const { a, received } = await recordingPair(t, kind);
    const bytes = filled(32, 5);
    // A function elsewhere in the arguments: the encoding fails before anything is detached.
    const bad = a.call('take', [transfer({ bytes, fn: () => 1 }, [bytes.buffer as ArrayBuffer])]);
    await t.throwsAsync(within(bad, 'bad call'), { instanceOf: SerializationError });
    t.is(bytes.byteLength, 32, 'not detached: the call never left');
    // The same buffer, sent properly, then sent again after it was detached.
    await within(a.call('take', [transfer(bytes, [bytes.buffer as ArrayBuffer])]), 'good call');
    const again = a.call('take', [transfer(bytes, [bytes.buffer as ArrayBuffer])]);
    await t.throwsAsync(within(again, 'detached again'), { instanceOf: SerializationError, message: /detached/ });
    t.is(await within(a.call('take', ['after']), 'after'), 2, 'the channel goes on');
    t.deepEqual(received, [filled(32, 5), 'after']);
  });
}

test("port: a small Buffer from Node's shared pool cannot move; it is copied, arrives intact and stays usable", async (t) => {
  const { a, received } = await recordingPair(t, 'port');
  const pooled = Buffer.from('from the pool');
  t.true(pooled.buffer.byteLength > pooled.byteLength, 'carved from a larger pool buffer');
  await within(a.call('take', [transfer(pooled, [pooled.buffer as ArrayBuffer])]), 'call');
  t.is(pooled.toString(), 'from the pool', 'not detached: the pool is marked untransferable');
  t.true(Buffer.isBuffer(received[0]));
  t.is((received[0] as Buffer).toString(), 'from the pool');
});

test('transfer() refuses what cannot be marked, with errors that say what to pass', (t) => {
  // Refused by the types too: from JavaScript, or past a cast.
  t.throws(() => transfer(42 as unknown as object, []), { instanceOf: TypeError, message: /marks an object/ });
  t.throws(() => transfer(null as unknown as object, []), { instanceOf: TypeError, message: /got null/ });
  const bytes = new Uint8Array(4);
  t.throws(() => transfer(bytes, [bytes as unknown as ArrayBuffer]), {
    instanceOf: TypeError,
    message: 'transfer() lists ArrayBuffers only, got a Uint8Array (pass its .buffer)',
  });
  t.throws(() => transfer(bytes, [{} as ArrayBuffer]), {
    instanceOf: TypeError,
    message: 'transfer() lists ArrayBuffers only, got a plain object',
  });
  t.throws(() => transfer(bytes, [new Int8Array(1) as unknown as ArrayBuffer]), { instanceOf: TypeError, message: /got an Int8Array/ });
  t.throws(() => transfer(bytes, [new Error('x') as unknown as ArrayBuffer]), { instanceOf: TypeError, message: /got an Error$/ });
  t.throws(() => transfer(bytes, bytes.buffer as unknown as ArrayBuffer[]), { instanceOf: TypeError, message: /array of ArrayBuffers/ });
  t.is(transfer(bytes, [bytes.buffer as ArrayBuffer]), bytes, 'returns the value it marked');
});

test('backpressure "reject": a transfer that does not fit fails at once and keeps its buffers', async (t) => {
  const { a, b } = await createPair(t, 'memory', {
    channelA: { maxInFlight: 1, backpressure: 'reject' },
    b: { api: { hold: () => new Promise<void>((resolve) => setTimeout(resolve, 20)) } },
  });
  const first = a.call('hold', []);
  const bytes = filled(16, 9);
  const rejected = a.call('hold', [transfer(bytes, [bytes.buffer as ArrayBuffer])]);
  await t.throwsAsync(within(rejected, 'rejected'), { instanceOf: ChannelFullError });
  t.is(bytes.byteLength, 16, 'still ours');
  await within(first, 'first');
  t.is((b as Endpoint).pendingCalls, 0);
});

test('port: a transferred buffer counts against maxQueuedBytes like encoded bytes', async (t) => {
  const { a } = await createPair(t, 'port', {
    channelA: { maxQueuedBytes: 4 * MB },
    b: { api: { take: () => undefined } },
  });
  const calls: Promise<unknown>[] = [];
  for (let i = 0; i < 3; i++) {
    const bytes = filled(3 * MB, i);
    calls.push(a.call('take', [transfer(bytes, [bytes.buffer as ArrayBuffer])]));
  }
  t.is(a.channel.waiting, 2, 'one 3 MB transfer fills a 4 MB window: the next two wait for room');
  await within(Promise.all(calls), 'all three');
  t.is(a.channel.stats.bytesTransferredSent, 9 * MB);
});
