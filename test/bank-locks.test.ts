// Lock waiting on a shard: wound-wait (a younger transfer waits for an older holder, an older one
// wounds a younger holder that has not voted, and is refused by one that has), bounded waits, and the
// no-wait policy that refuses at once. State machines only, over real WAL files.
import { join } from 'node:path';
import test from 'ava';
import type { ShardRecord } from '../examples/bank/config.js';
import { LockTable, onConflict } from '../examples/bank/lock-table.js';
import { readWal } from '../examples/bank/wal.js';
import { openShard, req, tempDir } from './helpers/bank.js';
import { deferred, nextTurn, withDeadline } from './helpers/deadline.js';

const age = (txId: string, startedAt: number) => ({ txId, startedAt });

test('the wound-wait rule: younger waits, older wounds a holder that has not voted and is refused by one that has', (t) => {
  const older = age('t/1/1', 1);
  const younger = age('t/1/2', 2);
  t.is(onConflict('wound-wait', younger, older, true), 'wait');
  t.is(onConflict('wound-wait', younger, older, false), 'wait');
  t.is(onConflict('wound-wait', older, younger, true), 'wound');
  t.is(onConflict('wound-wait', older, younger, false), 'refuse');
  t.is(onConflict('no-wait', younger, older, true), 'refuse');
  t.is(onConflict('wound-wait', age('t/1/1', 5), age('t/1/2', 5), false), 'refuse', 'ties are broken by id: t/1/1 is older');
});

test('a released lock goes to its oldest waiter, at once; a cancelled or timed-out waiter never gets it', async (t) => {
  const locks = new LockTable();
  const ends: string[] = [];
  locks.take('a', 'h');
  locks.wait('a', age('w3', 3), 10_000, (end) => ends.push(`w3 ${end}`));
  locks.wait('a', age('w1', 1), 10_000, (end) => ends.push(`w1 ${end}`));
  locks.wait('a', age('w2', 2), 10_000, (end) => ends.push(`w2 ${end}`));
  const w4 = deferred();
  locks.wait('a', age('w4', 4), 20, (end) => {
    ends.push(`w4 ${end}`);
    w4.resolve();
  });
  locks.cancel('w2');
  t.deepEqual(ends, ['w2 cancelled']);
  locks.release('a', 'not-the-holder');
  t.is(locks.holder('a'), 'h');
  locks.release('a', 'h');
  t.is(locks.holder('a'), 'w1', 'the oldest waiter holds it as soon as release() returns');
  await withDeadline(w4.promise, 2000, 'w4 timing out');
  locks.release('a', 'w1');
  t.deepEqual(ends, ['w2 cancelled', 'w1 granted', 'w4 timeout', 'w3 granted']);
  t.is(locks.waiting, 0);
});

test('wound-wait: a younger prepare waits for the older holder and gets the lock when it commits, funds checked then', async (t) => {
  const dir = tempDir(t);
  const { shard, close } = openShard(dir);
  t.teardown(close);
  t.deepEqual(await shard.prepare(req('t/1/1', 's0a0', -60)), { vote: 'yes' });
  const debit = shard.prepare(req('t/1/2', 's0a0', -30)); // fits after t/1/1 commits (40 left)
  const tooMuch = shard.prepare(req('t/1/3', 's0a0', -30)); // would not fit after t/1/2
  await nextTurn();
  t.is(shard.snapshot().waiting, 2);
  shard.commit('t/1/1');
  const first = await debit;
  t.is(first.vote, 'yes');
  t.true((first.waitedMs ?? 0) > 0, 'the vote says it waited');
  t.deepEqual(shard.snapshot().locks, { s0a0: 't/1/2' });
  shard.commit('t/1/2');
  t.like(await tooMuch, { vote: 'no', cause: 'funds' });
  t.deepEqual(shard.snapshot().locks, {});
  t.deepEqual(shard.snapshot().balances.s0a0, 10);
  await shard.sync();
  // The log shows each lock changing hands in order: a commit, then the next holder's prepare.
  const log = readWal<ShardRecord>(join(dir, 'shard-0.wal')).records.map((r) => ('txId' in r ? `${r.t} ${r.txId}` : r.t));
  t.deepEqual(log, ['init', 'prepare t/1/1', 'commit t/1/1', 'prepare t/1/2', 'commit t/1/2']);
});

test('wound-wait: an older prepare wounds a younger holder still being logged, and takes the lock', async (t) => {
  const dir = tempDir(t);
  const { shard, close } = openShard(dir);
  t.teardown(close);
  const younger = shard.prepare(req('t/1/5', 's0a0', -10));
  const older = shard.prepare(req('t/1/4', 's0a0', -10)); // handled before the younger's fsync returned
  t.deepEqual(await younger, { vote: 'no', cause: 'wounded' });
  t.like(await older, { vote: 'yes' });
  t.deepEqual(shard.snapshot().locks, { s0a0: 't/1/4' });
  await shard.sync();
  const log = readWal<ShardRecord>(join(dir, 'shard-0.wal')).records.map((r) => ('txId' in r ? `${r.t} ${r.txId}` : r.t));
  t.deepEqual(log, ['init', 'prepare t/1/5', 'abort t/1/5', 'prepare t/1/4']);
});

test('wound-wait: an older prepare is refused by a younger holder that already voted yes (it may not be aborted)', async (t) => {
  const { shard, close } = openShard(tempDir(t));
  t.teardown(close);
  t.deepEqual(await shard.prepare(req('t/1/5', 's0a0', -10)), { vote: 'yes' });
  t.deepEqual(await shard.prepare(req('t/1/4', 's0a0', -10)), { vote: 'no', cause: 'locked' });
  t.deepEqual(shard.snapshot().locks, { s0a0: 't/1/5' });
});

test('wound-wait: a wait is bounded, and an abort ends it; neither leaves a lock or a log record', async (t) => {
  const dir = tempDir(t);
  const { shard, close } = openShard(dir, 'shard-0', { waitTimeoutMs: 30 });
  t.teardown(close);
  await shard.prepare(req('t/1/1', 's0a0', -10));
  const timedOut = await withDeadline(shard.prepare(req('t/1/2', 's0a0', -10)), 2000, 'a bounded wait');
  t.like(timedOut, { vote: 'no', cause: 'lock-timeout' });
  t.true(timedOut.waitedMs! >= 25);
  const aborted = shard.prepare(req('t/1/3', 's0a0', -10));
  await nextTurn();
  shard.abort('t/1/3'); // the teller decided abort: the other shard said no
  t.like(await aborted, { vote: 'no', cause: 'aborted' });
  shard.abort('t/1/1');
  t.deepEqual(shard.snapshot().locks, {}, 'neither waiter was handed the lock');
  t.is(shard.snapshot().waiting, 0);
  t.like(await shard.prepare(req('t/1/2', 's0a0', -10)), { vote: 'no', cause: 'aborted' }, 'a late duplicate of a timed-out prepare');
  await shard.sync();
  const logged = readWal<ShardRecord>(join(dir, 'shard-0.wal')).records.filter((r) => 'txId' in r && r.txId !== 't/1/1');
  t.deepEqual(logged, []);
});

test('wound-wait cannot deadlock: two transfers crossing two shards, each holding what the other wants', async (t) => {
  const dir = tempDir(t);
  const s0 = openShard(dir, 'shard-0');
  const s1 = openShard(dir, 'shard-1');
  t.teardown(s0.close);
  t.teardown(s1.close);
  // T1 (older) holds s0a0 on shard-0; T2 (younger) holds s0a1 on shard-1. Now each asks for the other's.
  await s0.shard.prepare(req('t/1/1', 's0a0', -10));
  await s1.shard.prepare(req('t/1/2', 's0a1', -10));
  const t1Second = s1.shard.prepare(req('t/1/1', 's0a1', 10)); // older meets a younger that voted: refused
  const t2Second = s0.shard.prepare(req('t/1/2', 's0a0', 10)); // younger waits for the older
  t.like(await t1Second, { vote: 'no', cause: 'locked' });
  s0.shard.abort('t/1/1'); // T1's teller aborts it, which frees s0a0 for T2
  t.like(await withDeadline(t2Second, 2000, "T2's wait on shard-0"), { vote: 'yes' });
});

test('no-wait: a prepare on a locked account is refused at once, whatever the ages', async (t) => {
  const { shard, close } = openShard(tempDir(t), 'shard-0', { policy: 'no-wait' });
  t.teardown(close);
  await shard.prepare(req('t/1/5', 's0a0', -10));
  t.deepEqual(await shard.prepare(req('t/1/6', 's0a0', -10)), { vote: 'no', cause: 'locked' });
  t.deepEqual(await shard.prepare(req('t/1/4', 's0a0', -10)), { vote: 'no', cause: 'locked' });
  t.is(shard.snapshot().waiting, 0);
});
