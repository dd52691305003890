/**
 * `mayHaveRun` when a worker dies: a call that had left may or may not have run, and one that never left
 * did not. Calls held back by flow control (`maxInFlight`) are still on the caller's side when the worker
 * is killed, so they report that they did not run: a caller may safely retry them.
 */
import test from 'ava';
import { notify, type WorkerDiedError } from '../src/index.js';
import { fixture, pollUntil, settle, startFor, within } from './helpers/cluster.js';
import { failOnLeaks } from './helpers/leaks.js';
import type { Counter } from './fixtures/counter.js';

failOnLeaks(test);

for (const kind of ['thread', 'process'] as const) {
  test(`${kind}: killed with calls in flight and calls waiting for room, only those that left may have run`, async (t) => {
    const cluster = await startFor(t, {
      workers: [{ name: 'v', module: fixture('counter.ts'), kind, restart: 'never' }],
      maxInFlight: 2,
    });
    const v = cluster.worker<Counter>('v');
    // Sleeps far longer than the test: the first two take the two places, the other two wait for one.
    const calls = [0, 1, 2, 3].map(() => settle(v.sleep(600_000)));
    await pollUntil(
      async () => {
        const control = (await cluster.stats()).workers[0]?.control;
        // inFlight counts convoy's own calls too; `waiting` only the calls held back.
        return control?.waiting === 2;
      },
      10_000,
      'two calls waiting for room',
    );
    await cluster.kill('v');
    const settled = await within(Promise.all(calls), 10_000, 'the calls fail');
    t.deepEqual(
      settled.map((s) => (s.ok ? 'resolved' : (s.error as WorkerDiedError).mayHaveRun)),
      [true, true, false, false],
      'mayHaveRun per call, in the order they were made',
    );
    for (const s of settled) t.like(s.ok ? {} : s.error, { code: 'ERR_CONVOY_WORKER_DIED', reason: 'killed' });
  });
}

// A fuzz review's: a worker process killed from outside convoy (no last words) closes its channel with no
// word of why; the calls it fails wait for the coordinator's word of the death and carry its reason, but
// a notify held back behind them failed at once as cut off (`disconnected`), a peer that may still run.
test('process killed from outside: calls in flight, a call and a notify held back all fail with the death’s reason', async (t) => {
  const cluster = await startFor(t, {
    workers: [{ name: 'v', module: fixture('counter.ts'), kind: 'process', restart: 'never' }],
    maxInFlight: 1,
  });
  const v = cluster.worker<Counter>('v');
  const pid = await v.pid();
  const sleeping = settle(v.sleep(600_000));
  const heldCall = settle(v.inc(1));
  const heldNotify = settle(notify(v).inc(1));
  await pollUntil(
    async () => (await cluster.stats()).workers[0]?.control?.waiting === 2,
    10_000,
    'the call and the notify waiting for room',
  );
  process.kill(pid, 'SIGKILL');
  const settled = await within(Promise.all([sleeping, heldCall, heldNotify]), 10_000, 'all three fail');
  t.deepEqual(
    settled.map((s) =>
      s.ok ? 'resolved' : { reason: (s.error as WorkerDiedError).reason, mayHaveRun: (s.error as WorkerDiedError).mayHaveRun },
    ),
    [
      { reason: 'crash', mayHaveRun: true },
      { reason: 'crash', mayHaveRun: false },
      { reason: 'crash', mayHaveRun: false },
    ],
  );
  for (const s of settled) t.like(s.ok ? {} : s.error, { signal: 'SIGKILL' });
});
