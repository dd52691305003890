/**
 * The collector on hand-made `cluster.stats()` readings: rates over the time between readings, restarts
 * counted from zero (never a negative rate), its own stats call left out, faults turned into events, and
 * totals for /metrics that only grow.
 */
import test from 'ava';
import { EventLog } from '../src/cluster/event-log.js';
import type { ClusterStats, WorkerStats } from '../src/cluster/stats.js';
import { Collector } from '../src/dashboard/collector.js';
import type { ChannelSnapshot } from '../src/rpc/endpoint-stats.js';

function channel(peer: string, counts: Partial<ChannelSnapshot> = {}): ChannelSnapshot {
  return {
    peer,
    calls: 0,
    notifies: 0,
    replies: 0,
    faults: 0,
    served: 0,
    faultsServed: 0,
    batchesSent: 0,
    batchesReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    bytesTransferredSent: 0,
    bytesTransferredReceived: 0,
    inFlight: 0,
    queuedBytes: 0,
    waiting: 0,
    latency: [],
    ...counts,
    transport: counts.transport ?? 'port',
  };
}

function worker(name: string, incarnation: number, peers: ChannelSnapshot[], control: Partial<ChannelSnapshot> = {}): WorkerStats {
  return {
    name,
    spec: name,
    kind: 'thread',
    pid: 1,
    threadId: 2,
    state: 'ready',
    incarnation,
    restarts: incarnation,
    control: channel(name, control),
    peers,
    process: { eventLoopDelayMs: { p50: 0.1, p99: 2, max: 3 }, heapUsedBytes: 1000, heapTotalBytes: 2000 },
  };
}

/** A source that answers with the readings given, one per call, and waits `gapMs` before each after the first. */
function source(readings: ClusterStats[], gapMs = 100) {
  const events = new EventLog();
  let next = 0;
  return {
    events,
    async stats() {
      if (next > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
      return readings[Math.min(next++, readings.length - 1)]!;
    },
  };
}

/** A source over `events` answering `readings[order[0]]`, then `readings[order[1]]`, …, the last one again. */
function scripted(events: EventLog, readings: ClusterStats[], order: number[]) {
  let next = 0;
  return { events, stats: async () => readings[order[Math.min(next++, order.length - 1)]!]! };
}

const pair = (reading: Awaited<ReturnType<Collector['read']>>, from: string, to: string) =>
  reading.pairs.find((p) => p.from === from && p.to === to)!;

test('rates are the increase since the reading before, per second; the first reading has none', async (t) => {
  const collector = new Collector(
    source([
      { workers: [worker('a', 0, [channel('b', { calls: 100, bytesSent: 1000 })]), worker('b', 0, [])] },
      { workers: [worker('a', 0, [channel('b', { calls: 300, bytesSent: 5000, inFlight: 7 })]), worker('b', 0, [])] },
    ]),
    60_000,
  );
  const first = await collector.read();
  t.is(first.intervalMs, 0);
  t.is(pair(first, 'a', 'b').callsPerSec, 0);
  const second = await collector.read();
  const ab = pair(second, 'a', 'b');
  t.is(ab.callsPerSec, (200 * 1000) / second.intervalMs);
  t.is(ab.bytesPerSec, (4000 * 1000) / second.intervalMs);
  t.is(ab.inFlight, 7);
  t.is(ab.calls, 300, 'totals of the channel as it reports them');
  const a = second.workers.find((w) => w.name === 'a')!;
  t.is(a.callsOutPerSec, ab.callsPerSec);
  t.is(second.workers.find((w) => w.name === 'b')!.callsInPerSec, ab.callsPerSec);
  t.is(second.cluster.callsPerSec, ab.callsPerSec);
  t.is(collector.history.length, 1, 'one point: the first reading only starts the series');
});

test('a restarted end counts from zero: no negative rate, totals only grow', async (t) => {
  const collector = new Collector(
    source([
      { workers: [worker('a', 0, [channel('b', { calls: 500 })]), worker('b', 0, [])] },
      // b restarted: a's channel to it is new and has made 20 calls.
      { workers: [worker('a', 0, [channel('b', { calls: 20 })]), worker('b', 1, [])] },
      // The incarnation went up while the old channel was still read, then the new one came: same generation, fewer calls.
      { workers: [worker('a', 0, [channel('b', { calls: 30 })]), worker('b', 1, [])] },
      { workers: [worker('a', 0, [channel('b', { calls: 5 })]), worker('b', 1, [])] },
    ]),
    60_000,
  );
  await collector.read();
  const restarted = await collector.read();
  t.is(pair(restarted, 'a', 'b').callsPerSec, (20 * 1000) / restarted.intervalMs);
  await collector.read();
  const reset = await collector.read();
  t.is(pair(reset, 'a', 'b').callsPerSec, (5 * 1000) / reset.intervalMs);
  t.is(collector.pairTotals.get('a\u0000b')!.calls, 500 + 20 + 10 + 5);
});

test("coordinator → worker rates are the counters' deltas: its stats calls are not in the counters to begin with", async (t) => {
  const collector = new Collector(
    source([
      { workers: [worker('a', 0, [], { calls: 10 })] },
      { workers: [worker('a', 0, [], { calls: 10 })] },
      { workers: [worker('a', 0, [], { calls: 14 })] },
    ]),
    60_000,
  );
  await collector.read();
  t.is(pair(await collector.read(), 'coordinator', 'a').callsPerSec, 0, 'no call since: the reading itself is not one');
  const busy = await collector.read();
  t.is(pair(busy, 'coordinator', 'a').callsPerSec, (4 * 1000) / busy.intervalMs);
});

test('new faults become events naming the callee and the caller', async (t) => {
  const src = source([
    { workers: [worker('a', 0, [channel('b', { calls: 10, faults: 1 })]), worker('b', 0, [])] },
    { workers: [worker('a', 0, [channel('b', { calls: 20, faults: 4 })]), worker('b', 0, [])] },
  ]);
  const collector = new Collector(src, 60_000);
  await collector.read();
  t.deepEqual(src.events.since(0), [], 'faults from before the dashboard started are no event');
  const reading = await collector.read();
  const [fault] = src.events.since(0);
  t.like(fault, { type: 'fault', worker: 'b', from: 'a', count: 3 });
  t.is(reading.cluster.faults, 4, 'every fault counts in the total');
});

// A review's: each dashboard's collector logged the faults it found since its own reading before, in the
// cluster's one event log: with two dashboards every fault was logged twice.
test('two dashboards of one cluster log each fault once, whichever reads it first; a worker’s served faults count for its caller', async (t) => {
  const readings = [
    { workers: [worker('a', 0, [channel('b', { faults: 1 })], { faultsServed: 0 }), worker('b', 0, [])] },
    { workers: [worker('a', 0, [channel('b', { faults: 4 })], { faultsServed: 2 }), worker('b', 0, [])] },
    { workers: [worker('a', 0, [channel('b', { faults: 6 })], { faultsServed: 2 }), worker('b', 0, [])] },
  ];
  const events = new EventLog();
  const first = new Collector(scripted(events, readings, [0, 1, 2]), 60_000);
  const second = new Collector(scripted(events, readings, [0, 1, 2]), 60_000);
  await first.read();
  await second.read();
  t.deepEqual(events.since(0), [], 'faults from before either started are no event');
  await first.read();
  await second.read();
  await second.read();
  await first.read();
  const faults = events.since(0).map(({ from, worker: to, count }) => [from, to, count]);
  t.deepEqual(faults, [
    ['a', 'coordinator', 2],
    ['a', 'b', 3],
    ['a', 'b', 2],
  ]);
});

// From the review of that fix: a channel that first appeared, with faults, between two readings of one
// dashboard, and was first read by a second dashboard's first reading, was marked as history, never logged.
test('a channel new since the first dashboard began is news to a second one’s first reading: its faults are logged', async (t) => {
  const readings = [
    { workers: [worker('a', 0, []), worker('b', 0, [])] },
    { workers: [worker('a', 0, [channel('b', { faults: 2 })]), worker('b', 0, [])] },
  ];
  const events = new EventLog();
  const first = new Collector(scripted(events, readings, [0, 1]), 60_000);
  const second = new Collector(scripted(events, readings, [1]), 60_000);
  await first.read();
  await second.read();
  await first.read();
  t.deepEqual(
    events.since(0).map(({ from, worker: to, count }) => [from, to, count]),
    [['a', 'b', 2]],
  );
});

// From the review of the last commits: a reading asked for before another dashboard's, answered after it,
// showed fewer faults than the mark and was taken for a new channel: 9 faults logged for 5.
test('a slow reading asked before another dashboard’s newer one logs nothing: no fault twice', async (t) => {
  const reading = (faults: number) => ({ workers: [worker('a', 0, [channel('b', { faults })]), worker('b', 0, [])] });
  const events = new EventLog();
  const quick = [reading(1), reading(6)];
  let next = 0;
  const first = new Collector({ events, stats: async () => quick[Math.min(next++, 1)]! }, 60_000);
  let answer!: (stats: ReturnType<typeof reading>) => void;
  const second = new Collector({ events, stats: () => new Promise((resolve) => (answer = resolve)) }, 60_000);
  await first.read();
  const slow = second.read(); // asked now, answered below
  await first.read();
  answer(reading(4));
  await slow;
  t.deepEqual(
    events.since(0).map(({ from, worker: to, count }) => [from, to, count]),
    [['a', 'b', 5]],
  );
});

test('concurrent askers share one reading; a fresh enough reading is reused', async (t) => {
  let calls = 0;
  const events = new EventLog();
  const collector = new Collector(
    {
      events,
      async stats() {
        calls++;
        await new Promise((resolve) => setTimeout(resolve, 20));
        return { workers: [worker('a', 0, [])] };
      },
    },
    60_000,
  );
  const [x, y] = await Promise.all([collector.read(), collector.read()]);
  t.is(x, y);
  t.is(calls, 1);
  t.is(await collector.read(60_000), x, 'young enough');
  t.is(calls, 1);
});

test('a frozen collector keeps its last reading, marked closed, its workers closed (a dead one dead), its figures kept', async (t) => {
  const dead: WorkerStats = { ...worker('b', 1, []), state: 'dead', process: undefined };
  const busy = worker('a', 0, [channel('b', { inFlight: 3, queuedBytes: 100, waiting: 2 })]);
  const collector = new Collector(source([{ workers: [busy, dead] }]), 60_000);
  const before = await collector.read();
  t.like(before.cluster.workers, { ready: 1, dead: 1, closed: 0 });
  t.like(
    before.pairs.find((p) => p.from === 'a' && p.to === 'b'),
    { inFlight: 3, queuedBytes: 100, waiting: 2 },
  );
  collector.freeze();
  const last = await collector.read();
  t.true(last.closed);
  t.deepEqual(
    last.workers.map((w) => [w.name, w.state]),
    [
      ['a', 'closed'],
      ['b', 'dead'],
    ],
  );
  t.like(last.cluster.workers, { ready: 0, dead: 1, closed: 1 });
  t.is(last.at, before.at, 'the last reading, not a new one');
  t.deepEqual(last.workers[0]!.heapUsedBytes, before.workers[0]!.heapUsedBytes, 'its figures as they were');
  t.is(await collector.read(), last, 'and it stays');
  // Its channels closed with it: nothing in flight, queued or waiting on them; figures read on the other
  // side stay null.
  for (const pair of last.pairs) {
    t.true(
      [pair.inFlight, pair.queuedBytes, pair.waiting].every((gauge) => gauge === 0 || gauge === null),
      JSON.stringify(pair),
    );
  }
});

test('a worker that misses a reading (busy past the stats deadline) neither loses its channels nor counts them twice', async (t) => {
  const latency = (count: number) => [{ method: 'inc', count, sumMs: count, buckets: [40, count] }];
  const silent = (name: string): WorkerStats => ({ ...worker(name, 0, []), process: undefined });
  const collector = new Collector(
    source([
      { workers: [worker('a', 0, [channel('b', { calls: 100, faults: 1, latency: latency(100) })]), worker('b', 0, [])] },
      // a did not answer in time: its channels are not in this reading, but they are still open.
      { workers: [silent('a'), worker('b', 0, [])] },
      { workers: [worker('a', 0, [channel('b', { calls: 160, faults: 3, latency: latency(160) })]), worker('b', 0, [])] },
    ]),
    60_000,
  );
  await collector.read();
  const missed = await collector.read();
  t.false(missed.workers.find((w) => w.name === 'a')!.answered);
  t.is(
    missed.pairs.find((p) => p.from === 'a' && p.to === 'b'),
    undefined,
    'no figures are made up for a channel that was not read',
  );
  const back = await collector.read();
  const ab = pair(back, 'a', 'b');
  const sinceRead = missed.intervalMs + back.intervalMs;
  t.is(ab.callsPerSec, (60 * 1000) / sinceRead, 'the 60 new calls over the time since the channel was last read');
  t.is(collector.pairTotals.get('a\u0000b')!.calls, 160, 'totals count each call once');
  t.is(back.cluster.faults, 3);
  const fault = collector.events.since(0).filter((e) => e.type === 'fault');
  t.deepEqual(
    fault.map((e) => (e as { count: number }).count),
    [2],
    'one event for the two new faults, none for the one from before',
  );
  const [inc] = [...collector.latency.totals];
  t.is(inc!.count, 160);
  const row = back.latency.byPair.find((r) => r.caller === 'a' && r.callee === 'b')!;
  t.is(row.callsPerSec, (60 * 1000) / sinceRead);
});
