/**
 * Flow control across a real cluster: `backpressure: 'reject'` refuses what does not fit,
 * from the coordinator and between workers, and the channel goes on; a slow pair never stalls the
 * flooding worker's other channels. (The slow receiver's own channels: hardening-starvation.test.ts.)
 *
 * One test at a time: each loads both cores, and a heartbeat or latency bound must not measure the
 * neighbouring test.
 */
import test from 'ava';
import { ChannelFullError, notify, type ClusterOptions } from '../src/index.js';
import { untilBackedUp, untilRoom, type Sink } from './fixtures/hardening-sink.js';
import { exitLog, fixture, settle, startFor, within } from './helpers/cluster.js';

const SINK = fixture('hardening-sink.ts');
const REJECT: Partial<ClusterOptions> = { backpressure: 'reject', maxQueuedBytes: 64 * 1024 };
/** 5000 notifies of ~120 B (each counting ~1.1 KiB against the window): far more than a 64 KiB window. */
const BURST = 5000;
const PAD = 'r'.repeat(100);

for (const kind of ['thread', 'process'] as const) {
  test.serial(
    `${kind}: with backpressure 'reject', a fast coordinator gets ERR_CONVOY_BACKPRESSURE for what does not fit; the rest arrives in order`,
    async (t) => {
      const cluster = await startFor(t, { ...REJECT, workers: [{ name: 'r', module: SINK, kind }] });
      const r = cluster.worker<Sink>('r');
      await r.resetSink(0);
      const outcomes = await Promise.all(Array.from({ length: BURST }, (_, seq) => settle(notify(r).spinSink('coordinator', seq, PAD, 0))));
      const accepted = outcomes.flatMap((o, seq) => (o.ok ? [seq] : []));
      const refused = outcomes.flatMap((o) => (o.ok ? [] : [o.error]));
      t.log(`${accepted.length} accepted, ${refused.length} refused`);
      t.true(accepted.length > 0 && refused.length > 0, 'some fit, some did not');
      // Nothing is acknowledged within one synchronous burst, so what fits is a prefix.
      t.deepEqual(
        accepted,
        Array.from({ length: accepted.length }, (_, i) => i),
      );
      for (const error of refused) {
        t.true(error instanceof ChannelFullError, String(error));
        t.is((error as ChannelFullError).code, 'ERR_CONVOY_BACKPRESSURE');
      }
      // The channel goes on: once the receiver has caught up, a call gets through, behind every accepted notify.
      const report = await untilRoom(() => r.sinkReport());
      t.is(report.received, accepted.length);
      t.deepEqual(report.bySender, { coordinator: { next: accepted.length } });
      t.is(await r.inc(1), 2);
    },
  );
}

test.serial("thread → process: 'reject' reaches the workers' own channels too", async (t) => {
  const cluster = await startFor(t, {
    ...REJECT,
    workers: [
      { name: 'a', module: SINK, kind: 'thread' },
      { name: 'b', module: SINK, kind: 'process' },
    ],
  });
  const a = cluster.worker<Sink>('a');
  const b = cluster.worker<Sink>('b');
  await b.resetSink(0);
  const { acceptedSeqs, failures, barrier } = await within(a.burst('b', BURST, 100), 20_000, 'burst a → b');
  t.log(`${acceptedSeqs.length} accepted, refused: ${JSON.stringify(failures)}`);
  t.true(acceptedSeqs.length > 0);
  t.deepEqual(
    acceptedSeqs,
    Array.from({ length: acceptedSeqs.length }, (_, i) => i),
    'what fits is a prefix',
  );
  t.deepEqual(Object.keys(failures), ['ERR_CONVOY_BACKPRESSURE']);
  t.is(acceptedSeqs.length + failures.ERR_CONVOY_BACKPRESSURE!, BURST);
  t.is(barrier, acceptedSeqs.length, 'b handled exactly the accepted notifies before the barrier call');
  t.deepEqual((await b.sinkReport()).bySender, { a: { next: acceptedSeqs.length } });
});

const TRIO = [
  { a: 'thread', b: 'thread', c: 'thread' },
  { a: 'process', b: 'process', c: 'thread' },
] as const;

for (const kinds of TRIO) {
  test.serial(`a (${kinds.a}) floods a slow b (${kinds.b}); a's calls to c (${kinds.c}) stay fast while b is backed up`, async (t) => {
    const cluster = await startFor(t, {
      // b itself may stall (a known bug, see hardening-starvation.test.ts); this test is about a's other channels.
      heartbeatTimeoutMs: 60_000,
      workers: [
        { name: 'a', module: SINK, kind: kinds.a },
        { name: 'b', module: SINK, kind: kinds.b },
        { name: 'c', module: SINK, kind: kinds.c },
      ],
    });
    const exits = exitLog(cluster);
    const a = cluster.worker<Sink>('a');
    const b = cluster.worker<Sink>('b');
    await b.resetSink(0);
    // b spins 5 µs per notify: a fills its 16 MiB window (~15k notifies) long before b drains it.
    await a.startFlood('b', 100, 5);
    t.teardown(() => a.stopFlood(false).catch(() => undefined));
    const sentBefore = await untilBackedUp(a, 15_000);

    // The first call opens the a–c pair (the mesh is lazy): a round of messages through the coordinator
    // while a's event loop is busy flooding, so it gets the 5 s of `within`, not the 1 s bound below.
    const openMs = (await within(a.timedCall('c', 'inc', [0]), 5000, 'a → c, the call that opens the pair')).ms;
    const latencies: number[] = [];
    for (let i = 1; i <= 20; i++) latencies.push((await within(a.timedCall('c', 'inc', [i]), 5000, `a → c call ${i}`)).ms);
    const after = await a.floodState();
    const sorted = [...latencies].sort((x, y) => x - y);
    t.log(
      `a had sent ${sentBefore} notifies when the window filled, ${after.sent} after the calls; opening a → c took ` +
        `${openMs.toFixed(0)} ms; then a → c latencies: median ${sorted[10]!.toFixed(1)} ms, max ${sorted[19]!.toFixed(1)} ms`,
    );
    t.true(after.waiting, 'b was still backed up after the calls');
    // Generous for a shared 2-core machine; a stalled channel would wait for b's whole backlog.
    t.true(sorted[19]! < 1000, `every a → c call under 1 s once open: ${latencies.map((ms) => ms.toFixed(0)).join(', ')}`);

    const { sent, error } = await within(a.stopFlood(true), 30_000, 'stop the flood and drain b');
    t.is(error, undefined);
    t.deepEqual((await b.sinkReport()).bySender, { a: { next: sent } }, 'every flooded notify arrived, in order');
    t.deepEqual(exits.events, []);
  });
}
