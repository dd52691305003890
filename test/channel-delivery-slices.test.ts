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

function slowReceiver(ms: number) {
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
          if (handled.count >= 400) return;
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
