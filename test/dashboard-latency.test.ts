/**
 * Call latency as the caller sees it: the bucket arithmetic, the sampling that keeps it cheap enough to be
 * always on, the endpoint recording real calls, and the dashboard's merge into p50/p99 and /metrics buckets.
 */
import test from 'ava';
import { LatencyBook, quantile } from '../src/dashboard/latency-book.js';
import { BUCKET_COUNT, CallLatency, MAX_METHODS_TALLIED, OTHER_METHODS, bucketOf, bucketUpperMs } from '../src/rpc/call-latency.js';
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
  // Calls settling a few ms apart (the pace is the stimulus here, not a synchronisation): each is timed.
  for (let i = 0; i < 10; i++) {
    await new Promise((resolve) => setTimeout(resolve, 3));
    t.is(rare.sample(), 1, 'a rare call is timed, standing for itself');
    rare.record('get', performance.now() - 1, 1, i + 1);
  }
  t.is(rare.oneIn, 1);
  t.is(rare.snapshot()[0]!.count, 10);

  const flood = new CallLatency();
  let timed = 0;
  let id = 0;
  for (const end = performance.now() + 300; performance.now() < end; ) {
    id++;
    const weight = flood.sample();
    if (weight === 0) continue;
    timed++;
    flood.record('inc', performance.now(), weight, id);
  }
  t.true(flood.oneIn > 1, 'a flood makes the sampling sparser');
  t.true(timed < id / 4, `${timed} of ${id} calls timed`);
  const [inc] = flood.snapshot();
  // Each timed call counts oneIn: the weighted count follows the calls made.
  t.true(inc!.count > id * 0.5 && inc!.count < id * 2, `weighted count ${inc!.count} for ${id} calls`);

  // The flood is over: once a window has seen only a few calls issued, timing is complete again.
  await new Promise((resolve) => setTimeout(resolve, 60));
  flood.record('inc', performance.now() - 1, flood.oneIn, id + 5);
  await new Promise((resolve) => setTimeout(resolve, 60));
  flood.record('inc', performance.now() - 1, flood.oneIn, id + 10);
  t.is(flood.oneIn, 1);
  t.is(flood.sample(), 1, 'the next call is timed, though the flood drew a longer wait for it');
});

test('a fixed sampling times one call in that many on average, whatever the pace', (t) => {
  const every = new CallLatency(1);
  const rare = new CallLatency(64);
  let timed = 0;
  for (let id = 1; id <= 64_000; id++) {
    t.is(every.sample(), 1);
    every.record('inc', performance.now(), 1, id);
    const weight = rare.sample();
    if (weight !== 0) timed++;
  }
  t.is(every.oneIn, 1, 'a flood does not thin a fixed sampling');
  t.is(every.snapshot()[0]!.count, 64_000);
  // 1000 expected; the gaps are uniform in 1 … 127, so the count's spread is ~18.
  t.true(timed > 850 && timed < 1150, `${timed} of 64 000 calls timed`);
});

// A review's: a timed call was weighed by the sampling as it was when its reply came. A burst made while
// every call was timed and answered after the sampling thinned counted each reply for up to 1024 calls:
// 20 000 pipelined calls read as 406 070.
test('a burst of pipelined calls is counted as the calls it was, however the sampling changes before the replies', async (t) => {
  const { a } = await createPair(t, 'memory', { b: { api: { inc: (n: number) => n + 1 } } });
  for (const burst of [20_000, 20_000]) {
    await withDeadline(Promise.all(Array.from({ length: burst }, (_, i) => a.call('inc', [i]))), 30_000, 'the burst');
  }
  const [inc] = a.latency.snapshot();
  t.true(inc!.count > 40_000 * 0.5 && inc!.count < 40_000 * 2, `weighted count ${inc!.count} for 40000 calls`);
});

// A user's walk-through of the docs: a caller alternating `inc` and `echo` was timed by its ids' low bits,
// so one method got every sample. 6000 calls, 3000 each, read 337 for inc and 5648 for echo.
test('a caller alternating two methods in a flood gets each counted as the calls it made', async (t) => {
  const api = { inc: (n: number) => n + 1, echo: (n: number) => n };
  const { a } = await createPair(t, 'memory', { b: { api } });
  const rounds = 100_000;
  await withDeadline(
    (async () => {
      // Bursts of pipelined pairs of calls, so that the pace makes the sampling sparse.
      for (let done = 0; done < rounds; done += 1000) {
        await Promise.all(Array.from({ length: 1000 }, (_, i) => [a.call('inc', [i]), a.call('echo', [i])]).flat());
      }
    })(),
    60_000,
    'the flood',
  );
  t.true(a.latency.oneIn > 1, 'the flood was sampled, not timed whole');
  const counts = new Map(a.latency.snapshot().map((m) => [m.method, m.count]));
  for (const method of ['inc', 'echo']) {
    const count = counts.get(method) ?? 0;
    t.true(count > rounds * 0.6 && count < rounds / 0.6, `${method}: weighted count ${count} for ${rounds} calls`);
  }
});

test("an endpoint times its own calls to their reply or fault, per method, and never convoy's system calls", async (t) => {
  const api = {
    sleep: (ms: number) => new Promise((resolve) => setTimeout(resolve, ms)),
    fail() {
      throw new Error('no');
    },
  };
  const { a } = await createPair(t, 'memory', { b: { api, system: { '\0ping': () => 'pong' } } });
  const started = performance.now();
  await withDeadline(Promise.all([a.call('sleep', [30]), a.call('sleep', [30]), a.call('fail', []).catch(() => {})]), 5000, 'calls');
  // Each call was timed within this: an upper bound that holds however loaded the machine (a fixed one,
  // 1 s a call, failed beside two busy loops: 2.2 s for the two).
  const wallMs = performance.now() - started;
  await a.call('\0ping', []);
  const byMethod = new Map(a.latency.snapshot().map((m) => [m.method, m]));
  t.deepEqual([...byMethod.keys()].sort(), ['fail', 'sleep']);
  const sleep = byMethod.get('sleep')!;
  t.is(sleep.count, 2);
  t.true(sleep.sumMs >= 2 * 29 && sleep.sumMs <= 2 * wallMs, `sum ${sleep.sumMs} ms for two 30 ms sleeps, within ${wallMs} ms`);
  const buckets = new Float64Array(BUCKET_COUNT);
  for (let i = 0; i < sleep.buckets.length; i += 2) buckets[sleep.buckets[i]!] = sleep.buckets[i + 1]!;
  const p50 = quantile(buckets, 0.5)!;
  // Within its bucket, which is 2^(1/4) ≈ 1.19 times as wide as it starts.
  t.true(p50 >= 29 / 1.2 && p50 <= wallMs * 1.2, `p50 ${p50} ms, calls within ${wallMs} ms`);
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

/** A channel a → b whose `inc` calls so far are `calls`: [latency ms, how many] (cumulative, as a worker reports them). */
function channelReading(calls: [ms: number, count: number][], generation = '0') {
  const buckets = new Map<number, number>();
  for (const [ms, count] of calls) buckets.set(bucketOf(ms), (buckets.get(bucketOf(ms)) ?? 0) + count);
  const count = calls.reduce((total, [, n]) => total + n, 0);
  const latency = [
    {
      method: 'inc',
      count,
      sumMs: calls.reduce((total, [ms, n]) => total + ms * n, 0),
      buckets: [...buckets].sort(([a], [b]) => a - b).flat(),
    },
  ];
  return { from: 'a', to: 'b', generation, latency };
}

test('recent calls fade with a 5 s time constant: a slow burst stops counting toward p99 after ~23 s', (t) => {
  // 100 slow calls, then after a pause 100 fast ones. The slow ones weigh e^(−pause / 5 s) each: p99 stays
  // slow while they weigh more than 1/99 of the fast ones (a pause below 5 s × ln 99 ≈ 23 s), not after.
  const p99After = (pauseMs: number) => {
    const book = new LatencyBook();
    book.ingest([channelReading([])], 1000, 0);
    book.ingest([channelReading([[10, 100]])], 2000, 1000);
    book.ingest(
      [
        channelReading([
          [10, 100],
          [0.1, 100],
        ]),
      ],
      2000 + pauseMs,
      pauseMs,
    );
    const [row] = book.rows().byMethod;
    return row!.p99Ms!;
  };
  t.true(p99After(20_000) > 10 / 1.2, `p99 after 20 s: ${p99After(20_000)} ms`);
  t.true(p99After(26_000) < 0.1 * 1.2, `p99 after 26 s: ${p99After(26_000)} ms`);
});

test('an idle pair keeps its quantiles while it fades, then leaves the rows; hours of readings stay finite', (t) => {
  const book = new LatencyBook();
  const calls: [number, number][] = [[2, 10]];
  book.ingest([channelReading([])], 0, 0);
  book.ingest([channelReading(calls)], 1000, 1000);
  const first = book.rows().byPair[0]!;
  t.is(first.callsPerSec, 10);
  // The same reading again, 30 s later: no new calls, the same quantiles, and a rate of zero.
  const same = channelReading(calls);
  book.ingest([same], 31_000, 30_000);
  t.deepEqual(book.rows().byPair, [{ ...first, callsPerSec: 0 }]);
  // 10 calls weigh under 0.001 once 5 s × ln(10⁴) ≈ 46 s have passed without any.
  book.ingest([same], 50_000, 19_000);
  t.deepEqual(book.rows(), { byMethod: [], byPair: [] });
  // Three hours of readings every minute, with a call now and then: every figure stays a finite number.
  let at = 50_000;
  for (let minute = 1; minute <= 180; minute++) {
    at += 60_000;
    if (minute % 7 === 0) calls.push([0.5, 1]);
    book.ingest([channelReading(calls)], at, 60_000);
    const { byMethod, byPair } = book.rows();
    for (const row of [...byMethod, ...byPair]) {
      t.true(
        Number.isFinite(row.callsPerSec) && Number.isFinite(row.p50Ms!) && Number.isFinite(row.p99Ms!),
        `minute ${minute}: ${JSON.stringify(row)}`,
      );
    }
    if (minute % 7 === 0)
      t.is(
        byPair[0]?.p50Ms,
        quantile(
          Float64Array.from({ length: BUCKET_COUNT }, (_, i) => (i === bucketOf(0.5) ? 1 : 0)),
          0.5,
        ),
      );
  }
  t.is([...book.totals][0]!.count, 10 + 25);
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

// A review's: each distinct name called left a tally (~1 KB) on the caller for good, and a row in every
// stats() answer: 100 000 names built from requests grew the heap by 28 MB.
test(`a channel tallies ${MAX_METHODS_TALLIED} methods one by one, and any further names together`, (t) => {
  const latency = new CallLatency();
  for (let i = 0; i < MAX_METHODS_TALLIED + 44; i++) latency.record(`m${i}`, performance.now() - 1, 1, i + 1);
  latency.record('m0', performance.now() - 1, 1, 1000);
  const rows = new Map(latency.snapshot().map((row) => [row.method, row.count]));
  t.is(rows.size, MAX_METHODS_TALLIED + 1);
  t.is(rows.get('m0'), 2, 'a name tallied already stays its own');
  t.is(rows.get(OTHER_METHODS), 44);
});
