/**
 * Shared memory in a real cluster (`sharedMemory`): which channels use the rings (per cluster, per
 * thread), order kept across the rings and the port when 100 MB is transferred between small messages,
 * a thread killed in the middle of a burst, and calls with a spin. Death, FIFO, backpressure and leaks
 * over shared memory are the shared suites (THREAD_TRANSPORTS in cluster-death-thread, cluster-mesh,
 * hardening-backpressure, hardening-leaks).
 */
import test, { type ExecutionContext } from 'ava';
import { notify, transfer, type Cluster, type WorkerStats } from '../src/index.js';
import type { Counter } from './fixtures/counter.js';
import type { Seen, ShmCoordinator, ShmWorker } from './fixtures/shm-worker.js';
import { Counter as Count } from './helpers/deadline.js';
import { exitLog, fixture, startFor, within } from './helpers/cluster.js';

const WORKER = fixture('shm-worker.ts');
const BIG_BYTES = 100_000_000;

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

function transportsOf(worker: WorkerStats): Record<string, string> {
  return Object.fromEntries([['coordinator', worker.control!.transport], ...worker.peers.map((p) => [p.peer, p.transport])]);
}

/** A call on each pair of `names`: a pair's channel opens on its first use. */
async function openPairs(cluster: Cluster, names: string[]): Promise<void> {
  const pairs = names.flatMap((from, i) => names.slice(i + 1).map((to) => [from, to] as const));
  await within(
    Promise.all(pairs.map(([from, to]) => cluster.worker<ShmWorker>(from).sendMixed(to, 1, [], 0))),
    30_000,
    'a call on every pair',
  );
}

test('which channels use the rings: threads that opt in (or all, by default of the cluster), never a process', async (t) => {
  const cluster = await startFor(t, {
    workers: [
      { name: 'on', module: WORKER, sharedMemory: true },
      { name: 'on2', module: WORKER, sharedMemory: true },
      { name: 'off', module: WORKER },
      { name: 'proc', module: WORKER, kind: 'process' },
    ],
  });
  await openPairs(cluster, ['on', 'on2', 'off', 'proc']);
  const stats = await cluster.stats();
  const byName = Object.fromEntries(stats.workers.map((w) => [w.name, transportsOf(w)]));
  t.like(byName.on, { coordinator: 'shm', on2: 'shm', off: 'port' });
  t.regex(byName.on!.proc!, /^tcp/);
  t.like(byName.off, { coordinator: 'port', on: 'port' });
  t.regex(byName.proc!.coordinator!, /^tcp/);

  const all = await startFor(t, {
    sharedMemory: true,
    workers: [
      { name: 'a', module: WORKER },
      { name: 'b', module: WORKER },
      { name: 'out', module: WORKER, sharedMemory: false },
    ],
  });
  await openPairs(all, ['a', 'b', 'out']);
  const allStats = Object.fromEntries((await all.stats()).workers.map((w) => [w.name, transportsOf(w)]));
  t.deepEqual(allStats.a, { coordinator: 'shm', b: 'shm', out: 'port' });
  t.deepEqual(allStats.out, { coordinator: 'port', a: 'port', b: 'port' });
});

/** The log of a receiver: every seq once, in order, with the big buffers where they were sent. */
function assertInOrder(t: ExecutionContext, seen: Seen[], count: number, big: number[]) {
  t.deepEqual(
    seen.map(([seq]) => seq),
    range(count),
    'every message once, in order',
  );
  t.deepEqual(
    seen.filter(([, bytes]) => bytes > 0),
    big.map((seq) => [seq, BIG_BYTES]),
    'the transferred buffers arrived whole, in their place',
  );
}

test.serial('100 MB transferred between small calls and notifies keeps order: coordinator → thread and thread → thread', async (t) => {
  const cluster = await startFor(t, {
    sharedMemory: true,
    // The 100 MB buffers are made synchronously: a loaded machine must not take that for a hang.
    heartbeatTimeoutMs: 30_000,
    workers: [
      { name: 'a', module: WORKER },
      { name: 'b', module: WORKER },
    ],
  });
  const exits = exitLog(cluster);
  const count = 3000;
  const big = [700, 701, 2222];

  const b = cluster.worker<ShmWorker>('b');
  const calls: Promise<number>[] = [];
  for (let seq = 0; seq < count; seq++) {
    if (big.includes(seq)) {
      const bytes = new Uint8Array(BIG_BYTES);
      calls.push(b.record(seq, transfer(bytes, [bytes.buffer])));
    } else if (seq % 10 === 0) calls.push(b.record(seq));
    else void notify(b).record(seq);
  }
  await within(Promise.all(calls), 30_000, 'coordinator → b');
  assertInOrder(t, await b.seen(), count, big);

  await within(cluster.worker<ShmWorker>('a').sendMixed('b', count, big, BIG_BYTES), 30_000, 'a → b');
  const seen = await b.seen();
  assertInOrder(t, seen.slice(count), count, big);
  t.deepEqual(exits.events, []);
});

test.serial(
  'a thread killed in the middle of a burst: the coordinator got an unbroken prefix of it, and the calls to it fail',
  async (t) => {
    const received: number[] = [];
    const arrived = new Count();
    const coordinator: ShmCoordinator = {
      record(seq) {
        received.push(seq);
        arrived.add();
      },
    };
    const cluster: Cluster = await startFor(t, { sharedMemory: true, expose: coordinator, workers: [{ name: 'v', module: WORKER }] });
    const v = cluster.worker<ShmWorker>('v');
    const flooding = v.flood().catch((error: unknown) => error);
    await arrived.reach(20_000, 20_000, 'notifies from v');
    await within(cluster.kill('v'), 5000, 'kill v');
    const error = (await within(flooding, 5000, 'the flood call')) as { code?: string };
    t.is(error.code, 'ERR_CONVOY_WORKER_DIED');
    t.log(`${received.length} notifies before the kill`);
    t.deepEqual(received, range(received.length), 'no gap, no duplicate, no reordering, nothing torn');
  },
);

test.serial('spinMicros: calls one at a time and in flight, coordinator ↔ thread and thread ↔ thread, in order', async (t) => {
  const cluster = await startFor(t, {
    sharedMemory: true,
    spinMicros: 50,
    workers: [
      { name: 'a', module: fixture('counter.ts') },
      { name: 'b', module: fixture('counter.ts') },
    ],
  });
  const a = cluster.worker<Counter>('a');
  for (let i = 1; i <= 500; i++) t.is(await a.inc(1), i);
  const inFlight = range(2000).map(() => a.inc(1));
  t.deepEqual(
    await within(Promise.all(inFlight), 10_000, 'calls in flight'),
    range(2000).map((i) => 501 + i),
  );
  await within(a.sendSequence('b', 2000), 10_000, 'a → b');
  t.deepEqual(await cluster.worker<Counter>('b').seen('a'), range(2000));
});
