/**
 * Heartbeats must find hung workers (see cluster-death-*) without killing healthy ones: a worker busy
 * for less than heartbeatTimeoutMs survives, and so should every worker when it is the coordinator
 * that was busy. Serial: one test blocks the coordinator's own event loop.
 */
import test from 'ava';
import type { Counter } from './fixtures/counter.js';
import { exitLog, fixture, settle, startFor, within } from './helpers/cluster.js';

test.serial('a worker busy for less than heartbeatTimeoutMs is not declared hung', async (t) => {
  const cluster = await startFor(t, {
    heartbeatIntervalMs: 100,
    heartbeatTimeoutMs: 3000,
    workers: [
      { name: 'p', module: fixture('counter.ts'), kind: 'process' },
      { name: 't', module: fixture('counter.ts'), kind: 'thread' },
    ],
  });
  const log = exitLog(cluster);
  const p = cluster.worker<Counter>('p');
  const w = cluster.worker<Counter>('t');
  // Several heartbeat intervals of silence each, but well inside the timeout.
  await within(Promise.all([p.spin(400), w.spin(400)]), 10_000, 'the spins');
  t.is(await p.inc(1), 1);
  t.is(await w.inc(1), 1);
  t.deepEqual(log.events, []);
});

// Regression: a worker is judged by the time since the coordinator last *processed* a frame from it.
// When the coordinator's own event loop was blocked, the heartbeat timer fired first after the block,
// before the pongs waiting in the socket were read, and healthy process workers were killed with reason
// 'heartbeat'. A late tick now judges nobody and only pings.
test.serial('a coordinator that was busy for longer than heartbeatTimeoutMs does not kill its healthy workers', async (t) => {
  const cluster = await startFor(t, {
    heartbeatIntervalMs: 100,
    heartbeatTimeoutMs: 1000,
    workers: [{ name: 'p', module: fixture('counter.ts'), kind: 'process' }],
  });
  const log = exitLog(cluster);
  const p = cluster.worker<Counter>('p');
  t.is(await p.inc(1), 1);
  // The coordinator stalls for twice the heartbeat timeout; the worker keeps answering pings meanwhile.
  const end = performance.now() + 2000;
  while (performance.now() < end);
  const after = await within(settle(p.inc(1)), 5000, 'a call after the stall');
  t.true(after.ok, `the worker survived the coordinator's stall${after.ok ? '' : `: ${String(after.error)}`}`);
  t.deepEqual(log.events, []);
});
