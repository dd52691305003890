/** The counter and replication examples in short configurations (the CLI's contract is in cli.test.ts). */
import test from 'ava';
import { runCounter } from '../examples/counter/run.js';
import { runReplication } from '../examples/replication/run.js';
import { fixture } from './helpers/repo.js';

test('counter: A awaits B in order over the batched stream, B in a process', async (t) => {
  const report = await runCounter({ rounds: 400, kind: 'process' });
  t.true(report.inOrder);
  t.is(report.last, 400);
  t.is(report.firstMismatch, undefined);
});

test('counter: the order check fails when B sees two calls swapped', async (t) => {
  const report = await runCounter({ rounds: 400, kind: 'thread', serverB: fixture('counter-swapping-b.ts') });
  t.false(report.inOrder, 'replies still match their calls, but B saw the calls in another order');
  t.is(report.last, 400);
  t.deepEqual(report.firstMismatch, { index: 1, sent: 1, seen: 2 });
});

test('replication: notify keeps every replica a prefix of the primary; the pooled path diverges', async (t) => {
  const [ordered, pooled] = await runReplication({ writes: 400, replicas: 2, kind: 'thread' });
  t.is(ordered!.mode, 'ordered');
  t.is(ordered!.divergedReplicas, 0);
  t.is(ordered!.outOfOrder, 0);
  t.is(pooled!.mode, 'pooled');
  // Pool threads finish in whatever order their varying work allows: some writes overtake others.
  t.true(pooled!.outOfOrder > 0, `expected out-of-order applies through the pool, got ${pooled!.outOfOrder}`);
});
