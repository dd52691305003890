/**
 * `worker-ready`: once per incarnation that becomes ready. The start's come on the turn after
 * `startCluster()` resolves (a listener added then hears them: before, they were emitted before it
 * resolved, so no listener ever could), a restarted incarnation's just before its `worker-restart`.
 */
import test from 'ava';
import type { Cluster, WorkerReadyEvent } from '../src/index.js';
import type { Counter } from './fixtures/counter.js';
import { fixture, startFor, within } from './helpers/cluster.js';

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

test('a listener added once startCluster() resolves hears each worker of the start become ready, in spec order', async (t) => {
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
  t.deepEqual(
    events.map((e) => e.name),
    ['p', 't-0', 't-1'],
  );
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
