/**
 * Value frames: over a MessagePort, a plain message that leaves alone is posted as a value (cloned)
 * instead of its encoding. Which way a message went must not show: same values, same order, same flow
 * control and stats, and a forged value frame is a protocol error like a forged byte frame.
 */
import { MessageChannel } from 'node:worker_threads';
import test, { type ExecutionContext } from 'ava';
import { Channel } from '../src/channel/channel.js';
import { Endpoint } from '../src/rpc/endpoint.js';
import { PortTransport } from '../src/transport/port.js';
import { Decoder, Encoder } from '../src/protocol/codec.js';
import { ShmTransport, createShmPair } from '../src/transport/shm.js';
import type { ValueFrame } from '../src/transport/transport.js';
import { withDeadline } from './helpers/deadline.js';
import { failOnLeaks } from './helpers/leaks.js';
import { endpointClosed } from './helpers/pairs.js';
import { sameValue } from './helpers/same-value.js';

failOnLeaks(test);

/** A PortTransport that counts how each frame left. */
class CountingPortTransport extends PortTransport {
  values = 0;
  bytes = 0;

  override send(frame: Uint8Array, transfer?: ArrayBuffer[]): boolean {
    this.bytes++;
    return super.send(frame, transfer);
  }

  override sendValue(frame: ValueFrame): boolean {
    this.values++;
    return super.sendValue(frame);
  }
}

/** Two endpoints over a MessageChannel; `b` serves `api`. The raw ports are returned for forging. */
function portPair(t: ExecutionContext, api: object) {
  const { port1, port2 } = new MessageChannel();
  const transportA = new CountingPortTransport(port1);
  const transportB = new CountingPortTransport(port2);
  const a = new Endpoint(new Channel(transportA), { peerName: 'b', localName: 'a' });
  const b = new Endpoint(new Channel(transportB), { peerName: 'a', localName: 'b', api });
  t.teardown(() => {
    a.destroy(new Error('test teardown'));
    b.destroy(new Error('test teardown'));
    port1.close();
  });
  return { a, b, transportA, transportB, port1, port2 };
}

const echo = { echo: (value: unknown) => value, inc: (by: number) => by + 1 };

test('one call at a time with plain arguments goes as value frames both ways', async (t) => {
  const { a, transportA, transportB } = portPair(t, echo);
  for (let i = 0; i < 20; i++) t.is(await withDeadline(a.call('inc', [i]), 5000, 'call'), i + 1);
  t.is(transportA.values, 20, 'every call left as a value frame');
  t.is(transportB.values, 20, 'every reply left as a value frame');
  t.is(transportA.bytes, 0);
});

test('a call whose argument is not plain goes as bytes, and its reply as a value when the result is plain', async (t) => {
  const { a, transportA, transportB } = portPair(t, { size: (m: Map<string, number>) => m.size });
  t.is(await withDeadline(a.call('size', [new Map([['k', 1]])]), 5000, 'call'), 1);
  t.is(transportA.values, 0);
  t.is(transportA.bytes, 1);
  t.is(transportB.values, 1);
});

test('calls issued together leave as one byte frame, and all settle in order', async (t) => {
  const { a, transportA } = portPair(t, echo);
  const results = await withDeadline(Promise.all(Array.from({ length: 100 }, (_, i) => a.call('inc', [i]))), 5000, 'calls');
  t.deepEqual(
    results,
    Array.from({ length: 100 }, (_, i) => i + 1),
  );
  // The first call leaves alone (a value frame); the 99 queued behind it in the same turn leave together.
  t.is(transportA.values, 1);
  t.true(transportA.bytes >= 1 && transportA.bytes <= 3, `${transportA.bytes} byte frames`);
});

test('a value arrives the same whether its call left alone (as a value) or in a batch (as bytes)', async (t) => {
  const { a, transportA } = portPair(t, echo);
  const values = [
    0,
    1,
    -1,
    2 ** 31,
    -(2 ** 31) - 1,
    2 ** 53 - 1,
    0.1,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    '',
    'é🙂',
    true,
    false,
    null,
    undefined,
  ];
  for (const value of values) {
    const before = transportA.values;
    const alone = await withDeadline(a.call('echo', [value]), 5000, 'lone call');
    t.is(transportA.values, before + 1, `${String(value)} left alone as a value`);
    // Two in one turn: the second waits behind the first and leaves in a byte frame.
    const [, batched] = await withDeadline(Promise.all([a.call('echo', [0]), a.call('echo', [value])]), 5000, 'batched calls');
    t.true(Object.is(alone, value), `${String(value)} alone`);
    t.true(Object.is(batched, value), `${String(value)} batched`);
  }
  // -0 is not plain: it goes as bytes and arrives as the codec carries it, the same both ways.
  const before = transportA.values;
  const zero = await a.call('echo', [-0]);
  t.is(transportA.values, before);
  t.true(Object.is(zero, 0));
});

test('a plain object argument leaves as a value frame, a class instance, null-prototype object or Map as bytes, and each arrives as the codec carries it', async (t) => {
  const { a, transportA } = portPair(t, echo);
  const encoder = new Encoder();
  const decoder = new Decoder();
  class Account {
    constructor(readonly id: number) {}
  }
  const cases: [what: string, make: () => unknown, plain: boolean][] = [
    ['a plain object', () => ({ from: 1, to: 2, amount: 5 }), true],
    ['nested plain objects and arrays', () => ({ b: 1, 2: 'x', 1: 'y', list: [1, { c: 'é🙂' }], empty: {} }), true],
    ['a class instance', () => new Account(3), false],
    ['a null-prototype object', () => Object.assign(Object.create(null), { a: 1 }), false],
    ['a Map', () => new Map([['k', { v: 1 }]]), false],
  ];
  for (const [what, make, plain] of cases) {
    const values = transportA.values;
    const bytes = transportA.bytes;
    const alone = await withDeadline(a.call('echo', [make()]), 5000, `${what}, alone`);
    t.is(transportA.values - values, plain ? 1 : 0, `${what}: value frames`);
    t.is(transportA.bytes - bytes, plain ? 0 : 1, `${what}: byte frames`);
    // Two in one turn: the second waits behind the first and leaves in a byte frame.
    const [, batched] = await withDeadline(Promise.all([a.call('echo', [0]), a.call('echo', [make()])]), 5000, `${what}, batched`);
    const codec = decoder.decode(encoder.encode(make()));
    t.true(sameValue(alone, codec), `${what} alone`);
    t.true(sameValue(batched, codec), `${what} batched`);
  }
});

// A review's: a lone plain message was queued as the caller's own object and read when it left, at the
// flush. A change made after the call (the object reused for the next one) crossed with it, a function put
// in meanwhile failed another message or the flush itself, and an object held twice arrived as one.
test('a lone value frame carries its message as it was when sent, not as it is at the flush', async (t) => {
  const seen: unknown[] = [];
  const { a, transportA, transportB } = portPair(t, {
    take: (value: unknown) => void seen.push(value),
    state: () => {
      // Changed as soon as the handler has returned, before its reply can leave.
      queueMicrotask(() => (live.n = 5));
      return live;
    },
  });
  const live = { n: 0 };
  // Reused for each notify, changed after each: each arrives as it was sent.
  const message = { i: 0 };
  for (let i = 0; i < 3; i++) {
    message.i = i;
    void a.notify('take', [message]);
  }
  message.i = 99;
  // Something that cannot be sent, put in after the call: the call that was made crosses whole.
  const spoiled: Record<string, unknown> = { ok: 1 };
  const call = a.call('take', [spoiled]);
  spoiled.fn = () => {};
  await withDeadline(call, 5000, 'the call whose argument was spoiled after it was made');
  // One object held twice crosses as two, as the codec carries it.
  const shared = { n: 1 };
  await withDeadline(a.call('take', [{ x: shared, y: shared }]), 5000, 'shared');
  t.deepEqual(seen.slice(0, 4), [{ i: 0 }, { i: 1 }, { i: 2 }, { ok: 1 }]);
  const twice = seen[4] as { x: object; y: object };
  t.deepEqual(twice, { x: { n: 1 }, y: { n: 1 } });
  t.not(twice.x, twice.y, 'an object held twice arrives as two, lone or batched');
  // The reply side: a handler's result is taken as it returns, though the reply leaves at the flush.
  t.deepEqual(await withDeadline(a.call('state', []), 5000, 'reply'), { n: 0 });
  t.is(live.n, 5);
  t.true(transportA.values > 0 && transportB.values > 0, 'the lone messages left as value frames');
});

test('value frames count in the stats and the window like the bytes they stand for', async (t) => {
  const { a, b } = portPair(t, echo);
  await a.call('inc', [1]);
  const sent = a.channel.stats;
  const received = b.channel.stats;
  t.is(sent.messagesSent, 1);
  t.is(sent.batchesSent, 1);
  t.true(sent.bytesSent > 0);
  t.is(received.bytesReceived, sent.bytesSent);
  t.is(received.messagesReceived, 1);
  // The reply acked the call's cost: nothing stays charged against the window.
  t.is(a.channel.windowBytes, 0);
});

test('a forged value frame is a protocol error on that channel', async (t) => {
  const forgeries: [string, unknown][] = [
    ['a header that is not counts', [-1, 0, 10, [3, 1, 5]]],
    ['a size that is not a count', [0, 0, 'x', [3, 1, 5]]],
    ['a message that is not one', [0, 0, 10, { kind: 1 }]],
    ['an unknown message kind', [0, 0, 10, [99, 1]]],
  ];
  for (const [what, forged] of forgeries) {
    const { b, port1 } = portPair(t, echo);
    port1.postMessage(forged);
    const error = await endpointClosed(b);
    t.is((error as { code?: string }).code, 'ERR_CONVOY_PROTOCOL', what);
  }
});

test('shared memory without a spin budget posts value frames on its port, in order with its ring records', async (t) => {
  const { port1, port2 } = new MessageChannel();
  const [endA, endB] = createShmPair(64 * 1024, 0);
  const transportA = new ShmTransport(port1, endA);
  const sendValue = transportA.sendValue!;
  let values = 0;
  (transportA as { sendValue: typeof sendValue }).sendValue = (frame) => {
    values++;
    return sendValue(frame);
  };
  const a = new Endpoint(new Channel(transportA), { peerName: 'b', localName: 'a' });
  const b = new Endpoint(new Channel(new ShmTransport(port2, endB)), { peerName: 'a', localName: 'b', api: echo });
  t.teardown(() => {
    a.destroy(new Error('test teardown'));
    b.destroy(new Error('test teardown'));
    port1.close();
  });
  // Lone calls (value frames on the port) and bursts (the first call alone, the rest as bytes in the ring).
  const results: unknown[] = [];
  for (let round = 0; round < 20; round++) {
    results.push(await withDeadline(a.call('inc', [round]), 5000, 'lone call'));
    const burst = ['a', 'b', 'c'].map((x) => a.call('echo', [`${round}${x}`]));
    results.push(...(await withDeadline(Promise.all(burst), 5000, 'burst')));
  }
  t.deepEqual(results, Array.from({ length: 20 }, (_, round) => [round + 1, `${round}a`, `${round}b`, `${round}c`]).flat());
  t.is(values, 40, 'each lone call, and the first call of each burst, left as a value frame');
  t.is(a.channel.stats.batchesSent, 60, 'the rest of each burst left as one frame of bytes');
});

test('shared memory with a spin budget sends everything through its rings (a spinning reader sees them at once)', (t) => {
  const { port1, port2 } = new MessageChannel();
  t.teardown(() => port1.close());
  const [endA] = createShmPair(64 * 1024, 50);
  t.is(new ShmTransport(port1, endA).sendValue, undefined);
  port2.close();
});
