/** The counter and replication examples in short configurations (the CLI's contract is in cli.test.ts). */
import test from 'ava';
import { runCounter } from '../examples/counter/run.js';
import ServerA from '../examples/counter/server-a.js';
import Replica from '../examples/replication/replica.js';
import { runReplication, untilDone } from '../examples/replication/run.js';
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
  t.is(ordered!.overtakenWrites, 0);
  t.is(ordered!.differingKeys, 0);
  t.is(ordered!.lostWrites, 0);
  t.is(pooled!.mode, 'pooled');
  // Pool threads finish in whatever order their varying work allows: some writes overtake others, and the
  // last write to a key is not always the last one a replica applies.
  t.true(pooled!.overtakenWrites > 0, `expected writes overtaken through the pool, got ${pooled!.overtakenWrites}`);
  t.true(pooled!.differingKeys > 0, `expected keys left with another value than the primary's, got ${pooled!.differingKeys}`);
  t.is(pooled!.divergedReplicas, 2);
  t.is(pooled!.lostWrites, 0);
});

// A review's: the check compared seqs only, so a replica that applied a wrong value under the right seq passed.
test("replication: a replica that applies a write's right seq with a wrong value has diverged", async (t) => {
  const [ordered] = await runReplication({ writes: 400, replicas: 2, kind: 'thread', replica: fixture('replica-wrong-value.ts') });
  t.is(ordered!.divergedReplicas, 2, 'both replicas run the faulty module');
  t.is(ordered!.overtakenWrites, 0);
  t.is(ordered!.differingKeys, 0, 'later writes to its key left the store right: the history shows it');
});

// A review's: one write delivered last counted as out of order with every write after its place.
test('replication: a write delivered last is one write overtaken', async (t) => {
  const replica = await Replica.factory({} as Parameters<typeof Replica.factory>[0]);
  for (const seq of [1, 2, 3, 4, 5, 6, 7, 8, 9, 0]) replica.apply({ seq, key: `k${seq}`, value: seq });
  t.is(replica.state().overtaken, 1);
});

// A review's: a pool task that failed was an unhandled rejection in the primary, its write silently lost.
test('replication: a write the pool fails is counted as lost, with why, and the run still ends', async (t) => {
  const [ordered, pooled] = await runReplication({
    writes: 400,
    replicas: 2,
    kind: 'thread',
    poolTasks: fixture('replication-failing-pool.ts'),
  });
  t.is(ordered!.lostWrites, 0, 'the ordered mode does not use the pool');
  t.is(ordered!.divergedReplicas, 0);
  // Seqs 400 to 799: 407, 457, ..., 757.
  t.is(pooled!.lostWrites, 8);
  // The first to fail: the pool finishes its tasks in any order.
  t.regex(pooled!.firstLoss!, /^write \d+7 refused$/);
  t.is(pooled!.divergedReplicas, 2, 'replicas that missed writes are not in step');
});

test('replication: the wait for the replicas goes on while they make progress, and fails only once they stall', async (t) => {
  let polls = 0;
  const started = performance.now();
  const moving = async () => {
    polls++;
    return { done: polls === 30, progress: polls, value: polls, waitingFor: 'the replicas' };
  };
  t.is(await untilDone(moving, { stallMs: 100, pollMs: 10 }), 30);
  t.true(performance.now() - started > 200, 'longer than the stall limit, three times over');
  const stalled = async () => ({ done: false, progress: 7, value: 0, waitingFor: '2 of 2 replicas to apply 10 writes' });
  await t.throwsAsync(untilDone(stalled, { stallMs: 100, pollMs: 10 }), {
    message: 'No progress for 0.1 s, waiting for 2 of 2 replicas to apply 10 writes',
  });
});
