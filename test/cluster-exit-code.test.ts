/**
 * A worker thread that ends itself with process.exit(code) is reported with that code. Its port closes
 * (its last words sent) while the thread is still tearing down; the coordinator used to take that close
 * for a worker gone half-dead and terminate() it, and Node then reports terminate()'s exit code 1 instead
 * of the thread's own. A thread that never finishes exiting is still ended.
 */
import test from 'ava';
import type { Counter } from './fixtures/counter.js';
import { exitLog, fixture, startFor } from './helpers/cluster.js';

test('a thread whose channel closes well before it has exited is reported with its own exit code', async (t) => {
  const cluster = await startFor(t, { workers: [{ name: 'v', module: fixture('counter.ts') }] });
  const log = exitLog(cluster);
  // 300 ms between its last words and its exit: the window a loaded machine opens, held open.
  void cluster
    .worker<Counter>('v')
    .exitSlowly(3, 300)
    .catch(() => {});
  t.like(await log.nth('v', 1, 10_000), { name: 'v', reason: 'exit', exitCode: 3 });
});

test('a thread that said its last words but never exits is ended after heartbeatTimeoutMs, as hung', async (t) => {
  const cluster = await startFor(t, {
    heartbeatIntervalMs: 100,
    heartbeatTimeoutMs: 1000,
    workers: [{ name: 'v', module: fixture('counter.ts') }],
  });
  const log = exitLog(cluster);
  void cluster
    .worker<Counter>('v')
    .exitSlowly(3, 600_000)
    .catch(() => {});
  // Far inside its 10 minutes: only the coordinator can end it this soon.
  t.like(await log.nth('v', 1, 30_000), { name: 'v', reason: 'heartbeat' });
});
