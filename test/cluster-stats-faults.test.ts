/**
 * Faults (calls that failed in their handler) in what the cluster reports: a worker's calls to the
 * coordinator's exposed handlers count too. A review found that direction always read 0, on the page, in
 * /metrics and in the event log.
 */
import test from 'ava';
import type { Counter } from './fixtures/counter.js';
import { fixture, startFor } from './helpers/cluster.js';

test('a worker’s calls that fail in the coordinator’s handler are faults of that direction, in stats() and the dashboard', async (t) => {
  const cluster = await startFor(t, {
    expose: {
      fine: () => 'ok',
      broken() {
        throw new Error('no');
      },
    },
    workers: [{ name: 'a', module: fixture('counter.ts') }],
  });
  const a = cluster.worker<Counter>('a');
  for (const method of ['broken', 'fine', 'broken', 'missing']) await a.tryCall('coordinator', method, []);
  const control = (await cluster.stats()).workers.find((w) => w.name === 'a')!.control!;
  // Served: the four calls; faults: the two that threw and the one with no handler.
  t.like(control, { served: 4, faultsServed: 3 });
  const dashboard = await cluster.serveDashboard({ port: 0 });
  t.teardown(() => dashboard.close());
  const url = new URL(dashboard.url);
  const response = await fetch(new URL(`/api/snapshot?token=${url.searchParams.get('token')}`, url));
  const snapshot = (await response.json()) as {
    pairs: { from: string; to: string; calls: number; faults: number }[];
    cluster: { pool: unknown };
  };
  t.is(snapshot.cluster.pool, null, 'no pool, no pool row');
  t.like(
    snapshot.pairs.find((p) => p.from === 'a' && p.to === 'coordinator'),
    { calls: 4, faults: 3 },
  );
});
