/**
 * A frame's handlers run in slices of DELIVERY_SLICE_MS: a frame carries thousands of notifies, and run in
 * one go, handlers of a millisecond each held the event loop for seconds; the coordinator then ended a
 * healthy worker as hung. Between slices the event loop turns (pings are answered, timers fire) and the
 * sender hears from this side; order, replies and acknowledgements are as before, and what a peer sent
 * before its end is still delivered before the channel fails.
 */
import test from 'ava';
import { DELIVERY_SLICE_MS } from '../src/channel/channel.js';
import { notify } from '../src/index.js';
import { Counter, withDeadline } from './helpers/deadline.js';
import { failOnLeaks } from './helpers/leaks.js';
import { TRANSPORT_KINDS, createPair, endpointClosed } from './helpers/pairs.js';
import { fixture, startFor, within } from './helpers/cluster.js';
import type { Counter as CounterApi } from './fixtures/counter.js';

failOnLeaks(test);

/** The handlers' work: a millisecond of CPU each, as a real handler might take. */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

/** Handlers of `ms` each for `total` notifies; counts the event loop's turns from the first to the last. */
function slowReceiver(ms: number, total = 400) {
  const seen: number[] = [];
  const handled = new Counter();
  let turnsDuring = 0;
  let watching = false;
  const api = {
    note(seq: number) {
      // From the first handler on, count the event loop's turns until the last.
      if (!watching) {
        watching = true;
        const tick = (): void => {
          if (handled.count >= total) return;
          turnsDuring++;
          setImmediate(tick);
        };
        setImmediate(tick);
      }
      busy(ms);
      seen.push(seq);
      handled.add();
    },
    echo: (x: number) => x,
  };
  return { api, seen, handled, turns: () => turnsDuring };
}

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: a frame of slow handlers is delivered in slices: the event loop turns between them; order and replies hold`, async (t) => {
    const r = slowReceiver(1);
    const { a } = await createPair(t, kind, { b: { api: r.api } });
    // 400 notifies in one turn (one frame, or a few), then a call behind them: ~400 ms of handlers.
    for (let seq = 0; seq < 400; seq++) void a.notify('note', [seq]);
    t.is(await withDeadline(a.call('echo', [7]), 20_000, 'the call behind the notifies'), 7);
    t.deepEqual(
      r.seen,
      Array.from({ length: 400 }, (_, i) => i),
    );
    // Before, the whole frame ran in one turn: no turn came until it was done.
    const slices = Math.floor(400 / DELIVERY_SLICE_MS) - 2;
    t.true(r.turns() >= slices, `${r.turns()} turns of the event loop while the handlers ran`);
    t.is(a.channel.windowBytes, 0, 'every message acknowledged');
  });
}

test('what a peer sent before its channel ended is delivered, slices and all, before the channel fails', async (t) => {
  const r = slowReceiver(1);
  const { a, b } = await createPair(t, 'port', { b: { api: r.api } });
  for (let seq = 0; seq < 400; seq++) void a.notify('note', [seq]);
  // Its first slice is under way when the close comes: the rest waits in the backlog.
  await r.handled.reach(1, 10_000, 'the first notify');
  a.close(new Error('a closed'));
  const closed = await endpointClosed(b, 20_000);
  t.is(r.handled.count, 400, `closed with ${closed.message} after ${r.handled.count} notifies`);
  t.deepEqual(
    r.seen,
    Array.from({ length: 400 }, (_, i) => i),
  );
});

test.serial('a burst of notifies whose handlers take a millisecond each does not get a healthy worker ended as hung', async (t) => {
  // 2000 notifies of ~1 ms: two seconds of work against a heartbeat timeout of one. Before, they came as
  // one frame run in one go, and the worker was ended (reason heartbeat) in the middle of it.
  const cluster = await startFor(t, {
    heartbeatIntervalMs: 100,
    heartbeatTimeoutMs: 1000,
    workers: [{ name: 'w', module: fixture('counter.ts'), kind: 'thread' }],
  });
  const exits: string[] = [];
  cluster.on('worker-exit', (e) => exits.push(e.reason));
  const w = cluster.worker<CounterApi>('w');
  for (let i = 0; i < 2000; i++) void notify(w).spin(1);
  t.is(await within(w.inc(0), 30_000, 'a call behind the burst'), 0);
  t.deepEqual(exits, []);
});

test('a short frame of slow handlers is cut too: the clock is read after the first handler, at strides doubling to 64', async (t) => {
  // 20 handlers of 30 ms: 600 ms in a frame of 20 messages. With a read every 64 messages it was never cut.
  const r = slowReceiver(30, 20);
  const { a } = await createPair(t, 'memory', { b: { api: r.api } });
  for (let seq = 0; seq < 20; seq++) void a.notify('note', [seq]);
  t.is(await withDeadline(a.call('echo', [1]), 20_000, 'the call behind the notifies'), 1);
  t.deepEqual(
    r.seen,
    Array.from({ length: 20 }, (_, i) => i),
  );
  t.true(r.turns() >= 4, `${r.turns()} turns of the event loop while the handlers ran`);
});

test('a frame that breaks the protocol behind a backlog: what came before it is delivered first, then the channel fails with it', async (t) => {
  const r = slowReceiver(1);
  const { a, b, transportA } = await createPair(t, 'memory', { b: { api: r.api } });

  const closed = endpointClosed(b, 20_000);
  for (let seq = 0; seq < 400; seq++) void a.notify('note', [seq]);
  // While the first frame is still being delivered, a malformed one (a fixarray of 2, then 0xc1, which
  // MessagePack never uses).
  await r.handled.reach(1, 10_000, 'the first notify');
  t.true(r.handled.count < 400, 'the first frame is still being delivered');
  transportA.send(new Uint8Array([0x92, 0x00, 0x00, 0xc1]));
  const error = await closed;
  // Before, the bad frame ended the channel at once: the notifies still in the backlog were dropped.
  t.is(r.handled.count, 400);
  t.deepEqual(
    r.seen,
    Array.from({ length: 400 }, (_, i) => i),
  );
  t.is((error as { code?: string }).code, 'ERR_CONVOY_PROTOCOL');
});
