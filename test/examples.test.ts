/** The counter and replication examples in short configurations (the CLI's contract is in cli.test.ts). */
import test from 'ava';
import { runCounter } from '../examples/counter/run.js';
import ServerA from '../examples/counter/server-a.js';
import { runReplication } from '../examples/replication/run.js';
import { createRemote } from '../src/rpc/remote.js';
import { fixture } from './helpers/repo.js';

test('counter: A awaits B in order over the batched stream, B in a process', async (t) => {
  // Past two windows of pipelined calls, the last one short.
  const report = await runCounter({ rounds: 45_001, kind: 'process' });
  t.true(report.inOrder);
  t.is(report.last, 45_001);
  t.is(report.firstMismatch, undefined);
  t.is(report.firstWrongReply, undefined);
});

// A review's: the whole pipelined half went out in one turn; at --rounds 2000000 that held A's event loop
// past its heartbeat, and A was killed as hung (exit 3).
test('counter: A pipelines its second half 10 000 calls at a time, each window sent in one turn', async (t) => {
  const seen: number[] = [];
  let inFlight = 0;
  let most = 0;
  // B, in this process: it answers each call in a later turn, as a reply over a channel comes.
  const b = createRemote({
    call(method, args) {
      if (method === 'seen') return Promise.resolve(seen);
      const x = args[0] as number;
      seen.push(x);
      most = Math.max(most, ++inFlight);
      return new Promise((resolve) =>
        setImmediate(() => {
          inFlight--;
          resolve(x + 1);
        }),
      );
    },
    notify(_, args) {
      seen.push(args[0] as number);
      return Promise.resolve();
    },
  });
  const a = await ServerA.factory({ peer: () => b } as unknown as Parameters<typeof ServerA.factory>[0]);
  const result = await a.run(60_000);
  t.true(result.inOrder);
  t.is(result.last, 60_000);
  t.is(most, 10_000, 'a whole window in flight at once, and no more');
});

test('counter: the order check fails when B sees two calls swapped', async (t) => {
  const report = await runCounter({ rounds: 400, kind: 'thread', serverB: fixture('counter-swapping-b.ts') });
  t.false(report.inOrder, 'replies still match their calls, but B saw the calls in another order');
  t.is(report.last, 400);
  t.deepEqual(report.firstMismatch, { index: 1, sent: 1, seen: 2 });
});

// A review's: only the pipelined replies were checked, so a B whose first reply was x + 2 passed.
test('counter: the check fails when B answers one of the one-at-a-time calls wrong', async (t) => {
  const report = await runCounter({ rounds: 400, kind: 'thread', serverB: fixture('counter-miscounting-b.ts') });
  t.false(report.inOrder, "B saw the calls in order, but its first reply was not its call's");
  t.deepEqual(report.firstWrongReply, { index: 0, sent: 0, reply: 2 });
  t.is(report.firstMismatch, undefined);
  // A counts on from each reply: one counted twice puts every later one, and the last, one past.
  t.is(report.last, 401);
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
