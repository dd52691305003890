/**
 * The slow receiver's other channels: while a worker drains a flood of notifies from one peer,
 * its other channels — the coordinator's control channel, with its heartbeats and calls — must still be
 * served promptly, so the heartbeat does not take it for hung.
 *
 * Promptly means: a call to b waits for b to handle a frame or two of the flood, never for the flood to
 * pause. How long a frame takes depends on how much CPU b gets, so the bound is relative to the probed
 * flood's own duration in the same run (with the quiet machine's 2 s as a floor), and heartbeats are given
 * the patience of a loaded machine: the probes are what measure b's promptness here.
 */
import test, { type ExecutionContext } from 'ava';
import { untilBackedUp, type Sink } from './fixtures/hardening-sink.js';
import { exitLog, fixture, startFor, within } from './helpers/cluster.js';

const SINK = fixture('hardening-sink.ts');
/** Notifies b must drain while it is probed: ~10 of a's 16 MiB windows (~15k notifies each), over a second of b's work. */
const PROBED_NOTIFIES = 140_000;

/** b spins 5 µs per notify; a floods it with awaited notifies; the coordinator keeps calling b. */
async function slowReceiverStaysReachable(t: ExecutionContext, kind: 'thread' | 'process'): Promise<void> {
  const cluster = await startFor(t, {
    // At load 60+ even the flooder, a, missed the default 3 s once (it spends a window's worth of
    // notifies in one turn).
    heartbeatTimeoutMs: 30_000,
    workers: [
      { name: 'a', module: SINK, kind },
      { name: 'b', module: SINK, kind },
    ],
  });
  const exits = exitLog(cluster);
  const a = cluster.worker<Sink>('a');
  const b = cluster.worker<Sink>('b');
  await b.resetSink(0);
  await a.startFlood('b', 100, 5);
  t.teardown(() => a.stopFlood(false).catch(() => undefined));
  const sentBefore = await untilBackedUp(a, 15_000);
  // Probe b until a has sent PROBED_NOTIFIES more.
  const target = sentBefore + PROBED_NOTIFIES;
  const probes: number[] = [];
  const probingStarted = performance.now();
  for (let state = await a.floodState(); state.sent < target; state = await a.floodState()) {
    t.is(state.error, undefined, 'the flood goes on');
    if (state.error) return;
    const started = performance.now();
    await within(b.received(), 10_000, 'a call to b while it drains the flood');
    probes.push(performance.now() - started);
  }
  const probingMs = performance.now() - probingStarted;
  const worst = Math.max(...probes);
  // b handles a frame or two (up to ~15k notifies) per turn before it serves another channel; the probed
  // flood is ~10 windows of them. A call that waited for the flood to pause would take most of it.
  const boundMs = Math.max(2000, probingMs / 2);
  t.log(
    `${probes.length} calls to b while it drained ${target - sentBefore} notifies in ${probingMs.toFixed(0)} ms: ` +
      `worst ${worst.toFixed(0)} ms (bound ${boundMs.toFixed(0)} ms)`,
  );
  t.true(worst < boundMs, `b answered every call within ${boundMs.toFixed(0)} ms (worst ${worst.toFixed(0)} ms)`);
  t.deepEqual(exits.events, [], 'nobody was declared hung');
  const { sent } = await within(a.stopFlood(true), 30_000, 'stop the flood and drain b');
  t.deepEqual((await b.sinkReport()).bySender, { a: { next: sent } });
}

test.serial('process b (TCP): while b drains a flood from a, the coordinator still reaches b promptly', (t) =>
  slowReceiverStaysReachable(t, 'process'),
);

/*
 * Regression: a thread that receives a steady stream of frames on one MessagePort serviced no other port
 * until the stream paused (Node delivers 1000+ queued messages per port callback, src/node_messaging.cc
 * MessagePort::OnMessage), so the coordinator's calls to b waited for seconds and its heartbeat killed b.
 * PortTransport now works through frames in 10 ms slices.
 */
test.serial('thread b (MessagePort): while b drains a flood from a, the coordinator still reaches b promptly', (t) =>
  slowReceiverStaysReachable(t, 'thread'),
);
