/**
 * A pair's channel opens on its first use, not at start: `stats()` lists only the pairs that talked, both
 * sides of each; calls and notifies made while the channel opens arrive once, in order; two workers that
 * call each other first at the same moment share one channel; a worker can call a peer from its factory.
 */
import test from 'ava';
import { notify } from '../src/index.js';
import type { RemoteCounter } from './fixtures/counter.js';
import { fixture, startFor, within } from './helpers/cluster.js';
import { logCauses } from './helpers/deadline.js';
import { failOnLeaks } from './helpers/leaks.js';

failOnLeaks(test);

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

test('a fresh cluster has no peer channel open; a first call opens exactly its pair, on both sides', async (t) => {
  const cluster = await startFor(t, {
    workers: [
      { name: 'a', module: fixture('counter.ts') },
      { name: 'b', module: fixture('counter.ts'), kind: 'process' },
      { name: 'c', module: fixture('counter.ts') },
    ],
  });
  const open = async () =>
    Object.fromEntries((await cluster.stats()).workers.map((w) => [w.name, w.peers.map((p) => `${p.peer}:${p.transport}`).sort()]));
  t.deepEqual(await open(), { a: [], b: [], c: [] }, 'nothing is wired at start');
  t.is(await cluster.worker<RemoteCounter>('a').relay('b', 2), 2);
  t.deepEqual(await open(), { a: ['b:tcp'], b: ['a:tcp'], c: [] }, 'a ↔ b, and nothing else');
  t.is(await cluster.worker<RemoteCounter>('c').relay('a', 1), 1);
  t.deepEqual(await open(), { a: ['b:tcp', 'c:port'], b: ['a:tcp'], c: ['a:port'] });
});

for (const kinds of [
  ['thread', 'thread'],
  ['thread', 'process'],
  ['process', 'process'],
] as const) {
  test(`${kinds.join(' ↔ ')}: messages sent while the channel opens arrive once and in order; both sides calling first share one channel`, async (t) => {
    const cluster = await startFor(t, {
      workers: [
        { name: 'x', module: fixture('counter.ts'), kind: kinds[0] },
        { name: 'y', module: fixture('counter.ts'), kind: kinds[1] },
      ],
    });
    const x = cluster.worker<RemoteCounter>('x');
    const y = cluster.worker<RemoteCounter>('y');
    // Both start sending to each other at once: calls, notifies and calls left in flight, mixed.
    const N = 400;
    await within(Promise.all([x.sendSequence('y', N), y.sendSequence('x', N)]), 20_000, 'both sequences');
    t.deepEqual(await y.seen('x'), range(N), 'x → y in order, each once');
    t.deepEqual(await x.seen('y'), range(N), 'y → x in order, each once');
    const stats = await cluster.stats();
    for (const w of stats.workers) t.is(w.peers.length, 1, `${w.name} has one channel`);
  });
}

test('a notify as the very first message to a peer arrives, before the calls that follow it', async (t) => {
  const cluster = await startFor(t, {
    workers: [
      { name: 'x', module: fixture('counter.ts') },
      { name: 'y', module: fixture('counter.ts'), kind: 'process' },
    ],
  });
  void notify(cluster.worker<RemoteCounter>('x')).relay('y', 5);
  t.is(await cluster.worker<RemoteCounter>('x').relay('y', 1), 6);
});

test("a pair opened while the coordinator's calls to one side wait for room: convoy's own calls overtake them, nothing breaks", async (t) => {
  const cluster = await startFor(t, {
    // A small window: most of the coordinator's calls below wait for room when the pair opens.
    maxInFlight: 8,
    workers: [
      { name: 'r', module: fixture('counter.ts'), kind: 'process' },
      { name: 's', module: fixture('counter.ts') },
    ],
  });
  const r = cluster.worker<RemoteCounter>('r');
  const calls = range(2000).map((seq) => r.record('coordinator', seq));
  // s's first call to r opens their pair: the coordinator asks r to listen, ahead of the calls waiting.
  t.is(await within(cluster.worker<RemoteCounter>('s').relay('r', 3), 30_000, 's → r'), 3);
  await within(Promise.all(calls), 30_000, "the coordinator's calls");
  t.deepEqual(await r.orderOf('coordinator'), { count: 2000, firstOutOfOrder: -1 });
});

/*
 * A TCP pair opens on its first call: the coordinator asks the listening side to listen, then the other
 * to dial, each over its control channel, where the word waits behind whatever that worker is busy with.
 * Calls made meanwhile wait for as long as the busy peer lives, past `startTimeoutMs` (the bound they used
 * to have), whichever side of the pair is busy. Processes dial in spec order: the busy receiver listens
 * for `before` and dials `after`.
 */
const START_TIMEOUT_MS = 10_000;
const BUSY_MS = 12_000;
test.serial(
  'TCP pairs whose side is busy past startTimeoutMs when the first calls come, listener or dialer: they wait, none lost or reordered',
  async (t) => {
    const worker = (name: string) => ({ name, module: fixture('counter.ts'), kind: 'process' as const });
    const cluster = await startFor(t, {
      startTimeoutMs: START_TIMEOUT_MS,
      // Not a test of heartbeats: a worker busy this long is not hung.
      heartbeatIntervalMs: 500,
      heartbeatTimeoutMs: 60_000,
      workers: [worker('before'), worker('receiver'), worker('after')],
    });
    const receiver = cluster.worker<RemoteCounter>('receiver');
    const held = receiver.spin(BUSY_MS);
    const senders = ['before', 'after'];
    const sent = senders.map((name) => cluster.worker<RemoteCounter>(name).sendMixed('receiver', 2000));
    await within(Promise.all([held, ...sent]), BUSY_MS + 30_000, 'before and after → receiver').catch(logCauses(t));
    for (const name of senders) t.deepEqual(await receiver.orderOf(name), { count: 2000, firstOutOfOrder: -1 }, name);
  },
);
