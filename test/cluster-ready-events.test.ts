/**
 * `worker-ready`: once per incarnation that becomes ready. The start's events (each worker's ready, and
 * any death or restart meanwhile) come on the turn after `startCluster()` resolves, in order: a listener
 * added then hears them (before, they were emitted before it resolved, so no listener ever could). A
 * restarted incarnation's ready comes just before its `worker-restart`.
 */
import test from 'ava';
import { Cluster, type WorkerReadyEvent } from '../src/index.js';
import type { Counter } from './fixtures/counter.js';
import { fixture, pollUntil, startFor, within } from './helpers/cluster.js';
import { factoryGate } from './helpers/gate.js';

/** A restart is a spawn and a module load: ~0.6 s for a process on a quiet machine, far more under load. */
const EVENT_MS = 40_000;

/** Every event of the cluster, by name, in the order listeners heard them. */
function heard(cluster: Cluster): string[] {
  const order: string[] = [];
  cluster.on('worker-ready', (e) => order.push(`ready ${e.name} #${e.incarnation}`));
  cluster.on('worker-exit', (e) => order.push(`exit ${e.name} #${e.incarnation}`));
  cluster.on('worker-restart', (e) => order.push(`restart ${e.name} #${e.incarnation}`));
  return order;
}

test('a listener added once startCluster() resolves hears each worker of the start become ready, once', async (t) => {
  const cluster = await startFor(t, {
    workers: [
      { name: 'p', module: fixture('counter.ts'), kind: 'process' },
      { name: 't', module: fixture('counter.ts'), kind: 'thread', count: 2 },
    ],
  });
  const events: WorkerReadyEvent[] = [];
  const all = within(
    new Promise<void>((resolve) =>
      cluster.on('worker-ready', (e) => {
        events.push(e);
        if (events.length === 3) resolve();
      }),
    ),
    EVENT_MS,
    'three worker-ready events',
  );
  await all;
  t.deepEqual(events.map((e) => e.name).sort(), ['p', 't-0', 't-1'], 'each once, in the order they became ready');
  const stats = await cluster.stats();
  for (const e of events) {
    const worker = stats.workers.find((w) => w.name === e.name)!;
    t.like(e, { incarnation: worker.incarnation, kind: worker.kind, pid: worker.pid });
    t.true(e.startMs >= 0);
  }
});

test('a worker killed at once: listeners hear its worker-ready before its worker-exit', async (t) => {
  const cluster = await startFor(t, { workers: [{ name: 'a', module: fixture('counter.ts'), kind: 'thread' }] });
  const order = heard(cluster);
  // Killed in the turn startCluster() resolved in, before the start's events are let out.
  const killed = cluster.kill('a');
  await within(killed, EVENT_MS, 'kill a');
  t.deepEqual(order, ['ready a #0', 'exit a #0']);
});

test('a restarted incarnation gets its worker-ready, then its worker-restart', async (t) => {
  const cluster = await startFor(t, {
    restartDelayMs: 20,
    workers: [{ name: 'r', module: fixture('counter.ts'), kind: 'thread', restart: 'on-failure' }],
  });
  const order = heard(cluster);
  const restarted = within(new Promise((resolve) => cluster.once('worker-restart', resolve)), EVENT_MS, 'worker-restart');
  const r = cluster.worker<Counter>('r');
  await within(new Promise((resolve) => cluster.once('worker-ready', resolve)), EVENT_MS, "the start's worker-ready");
  r.exit(9).catch(() => {});
  await restarted;
  t.deepEqual(order, ['ready r #0', 'exit r #0', 'ready r #1', 'restart r #1']);
  t.is(await r.inc(2), 2);
});

test("a death and a restart during the start: listeners hear each incarnation's ready, its exit, and the restart, in order, once", async (t) => {
  // b's factory waits at a gate (fixtures/gated-factory.ts) while a dies and comes back.
  const gate = factoryGate(t);
  gate.arm();
  // What startCluster() does, with the cluster in hand before it resolves (after its option checks).
  const cluster = new Cluster({
    restartDelayMs: 10,
    heartbeatTimeoutMs: 60_000, // b waiting at its gate is starting, not hung
    workers: [
      { name: 'a', module: fixture('counter.ts'), kind: 'thread', restart: 'on-failure' },
      { name: 'b', module: fixture('gated-factory.ts'), kind: 'thread', env: { CONVOY_TEST_GATE: gate.dir } },
    ],
  });
  t.teardown(() => cluster.close());
  const starting = cluster.start();
  const a = cluster.worker<Counter>('a');
  // A call from the coordinator waits for its worker to be ready: answered, a is ready.
  await within(a.inc(0), EVENT_MS, 'a ready');
  await pollUntil(gate.waiting, EVENT_MS, 'b at its gate');
  await within(cluster.kill('a'), EVENT_MS, 'kill a');
  await within(a.inc(0), EVENT_MS, 'a ready again');
  gate.release();
  await within(starting, EVENT_MS, 'the start');
  // Started once: a second start would spawn every worker again as the same incarnation.
  await t.throwsAsync(cluster.start(), { message: 'A cluster is started once, by startCluster()' });
  const order = heard(cluster);
  await within(new Promise((resolve) => cluster.on('worker-ready', (e) => e.name === 'b' && resolve(e))), EVENT_MS, "b's worker-ready");
  // Before, a listener heard a#1's ready twice (once with pid 0, while it was still starting), and never a#0's exit.
  t.deepEqual(order, ['ready a #0', 'exit a #0', 'ready a #1', 'restart a #1', 'ready b #0']);
});

test("close() right after the start: the start's events are heard before it closes", async (t) => {
  const cluster = await startFor(t, { workers: [{ name: 'a', module: fixture('counter.ts'), kind: 'thread' }] });
  const order = heard(cluster);
  const closing = cluster.close();
  t.deepEqual(order, ['ready a #0'], 'heard as close() began');
  await closing;
  t.deepEqual(order, ['ready a #0']);
});
