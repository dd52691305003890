/**
 * Call latency as the caller sees it: the bucket arithmetic, the sampling that keeps it cheap enough to be
 * always on, the endpoint recording real calls, and the dashboard's merge into p50/p99 and /metrics buckets.
 */
import test from 'ava';
import { LatencyBook, quantile } from '../src/dashboard/latency-book.js';
import { BUCKET_COUNT, CallLatency, bucketOf, bucketUpperMs } from '../src/rpc/call-latency.js';
import { withDeadline } from './helpers/deadline.js';
import { failOnLeaks } from './helpers/leaks.js';
import { createPair } from './helpers/pairs.js';

failOnLeaks(test);

test('a latency falls in the bucket whose bounds hold it, four buckets per doubling', (t) => {
  for (const ms of [0.0011, 0.004, 0.035, 0.1, 1, 1.19, 7.3, 20, 999, 60_000]) {
    const bucket = bucketOf(ms);
    t.true(bucketUpperMs(bucket) >= ms, `${ms} ms is below the upper bound of bucket ${bucket}`);
    t.true(bucketUpperMs(bucket - 1) <= ms * 1.000001, `${ms} ms is above the upper bound of bucket ${bucket - 1}`);
    t.true(bucketUpperMs(bucket) / bucketUpperMs(bucket - 1) < 1.2, 'a bucket is 2^(1/4) wide');
  }
  t.is(bucketOf(0), 0, 'no time at all counts in the first bucket');
  t.is(bucketOf(1e9), BUCKET_COUNT - 1, 'beyond the last bound counts in the last bucket');
});

test('rare calls are all timed; a flood is sampled, each timed call standing for the calls it skipped', async (t) => {
  const rare = new CallLatency();
  // Calls settling a few ms apart (the pace is the stimulus here, not a synchronisation): the mask stays 0.
  for (let i = 0; i < 10; i++) {
    await new Promise((resolve) => setTimeout(resolve, 3));
    rare.record('get', performance.now() - 1, i + 1);
  }
  t.is(rare.mask, 0);
  t.is(rare.snapshot()[0]!.count, 10);

  const flood = new CallLatency();
  let timed = 0;
  let id = 0;
  for (const end = performance.now() + 300; performance.now() < end; ) {
    if ((++id & flood.mask) !== 0) continue;
    timed++;
    flood.record('inc', performance.now(), id);
  }
  t.true(flood.mask > 0, 'a flood makes the sampling sparser');
  t.true(timed < id / 4, `${timed} of ${id} calls timed`);
  const [inc] = flood.snapshot();
  // Each timed call counts mask + 1: the weighted count follows the calls made.
  t.true(inc!.count > id * 0.5 && inc!.count < id * 2, `weighted count ${inc!.count} for ${id} calls`);

  // The flood is over: once a window has seen only a few calls issued, timing is complete again.
  await new Promise((resolve) => setTimeout(resolve, 60));
  flood.record('inc', performance.now() - 1, id + 5);
  await new Promise((resolve) => setTimeout(resolve, 60));
  flood.record('inc', performance.now() - 1, id + 10);
  t.is(flood.mask, 0);
});

test("an endpoint times its own calls to their reply or fault, per method, and never convoy's system calls", async (t) => {
  const api = {
    sleep: (ms: number) => new Promise((resolve) => setTimeout(resolve, ms)),
    fail() {
      throw new Error('no');
    },
  };
  const { a } = await createPair(t, 'memory', { b: { api, system: { '\0ping': () => 'pong' } } });
  await withDeadline(Promise.all([a.call('sleep', [30]), a.call('sleep', [30]), a.call('fail', []).catch(() => {})]), 5000, 'calls');
  await a.call('\0ping', []);
  const byMethod = new Map(a.latency.snapshot().map((m) => [m.method, m]));
  t.deepEqual([...byMethod.keys()].sort(), ['fail', 'sleep']);
  const sleep = byMethod.get('sleep')!;
  t.is(sleep.count, 2);
  t.true(sleep.sumMs >= 2 * 29 && sleep.sumMs < 2 * 1000, `sum ${sleep.sumMs} ms for two 30 ms sleeps`);
  const buckets = new Float64Array(BUCKET_COUNT);
  for (let i = 0; i < sleep.buckets.length; i += 2) buckets[sleep.buckets[i]!] = sleep.buckets[i + 1]!;
  const p50 = quantile(buckets, 0.5)!;
  t.true(p50 >= 29 / 1.2 && p50 < 1000, `p50 ${p50} ms`);
  t.is(byMethod.get('fail')!.count, 1, 'a fault is a settled call too');
});

test('the book merges channels into recent p50/p99 and rates, and counts a restarted channel from zero', (t) => {
  const book = new LatencyBook();
  const reading = (count: number, ms: number, generation = '0') => ({
    from: 'a',
    to: 'b',
    generation,
    latency: [{ method: 'inc', count, sumMs: count * ms, buckets: [bucketOf(ms), count] }],
  });
  book.ingest([reading(100, 1)], 1000, 0);
  t.deepEqual(book.rows().byMethod, [], 'the first reading only sets where counting starts');
  book.ingest([reading(1100, 1)], 2000, 1000);
  const [row] = book.rows().byMethod;
  t.is(row!.method, 'inc');
  t.is(row!.callsPerSec, 1000);
  t.true(row!.p50Ms! > 0.8 && row!.p50Ms! < 1.2, `p50 ${row!.p50Ms}`);
  const [totals] = [...book.totals];
  t.is(totals!.count, 1100, 'totals since the dashboard first read the channel');

  // The callee restarted: a new channel, whose counts start again (fewer than before).
  book.ingest([reading(50, 10, '1')], 3000, 1000);
  t.is([...book.totals][0]!.count, 1150, 'the new channel adds its own calls, nothing is subtracted');
  t.is(book.rows().byPair[0]!.callsPerSec, 50);
});

test('quantiles read a known distribution back within a bucket', (t) => {
  const buckets = new Float64Array(BUCKET_COUNT);
  // 98 calls at 0.1 ms, 2 at 50 ms: p50 is fast, p99 is slow.
  buckets[bucketOf(0.1)] = 98;
  buckets[bucketOf(50)] = 2;
  const p50 = quantile(buckets, 0.5)!;
  const p99 = quantile(buckets, 0.99)!;
  t.true(p50 > 0.1 / 1.2 && p50 < 0.1 * 1.2, `p50 ${p50}`);
  t.true(p99 > 50 / 1.2 && p99 < 50 * 1.2, `p99 ${p99}`);
  t.is(quantile(new Float64Array(BUCKET_COUNT), 0.5), null);
});
