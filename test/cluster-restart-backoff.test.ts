/**
 * The restart delays: `restartDelayMs`, doubling with each failure in a row up to 5 s, or the delay asked
 * for itself when it is longer (a review found 8000 cut to 5000 at the first restart).
 */
import test from 'ava';
import { type BackoffState, RestartBackoff } from '../src/cluster/restart-backoff.js';

/** The delays before `count` restarts in a row. */
function delays(initialMs: number, count: number): number[] {
  const backoff = new RestartBackoff(initialMs);
  const worker: BackoffState = { backoffStep: 0, readyAt: performance.now() };
  return Array.from({ length: count }, () => {
    const delay = backoff.delayFor(worker);
    worker.backoffStep++;
    return delay;
  });
}

test('the default 100 ms doubles with each failure in a row, up to 5 s', (t) => {
  t.deepEqual(delays(100, 8), [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
});

test('a restartDelayMs past 5 s is kept as it is, not cut to 5 s', (t) => {
  t.deepEqual(delays(8000, 3), [8000, 8000, 8000]);
  t.deepEqual(delays(3000, 3), [3000, 5000, 5000]);
});

test('a worker that stayed up 10 s starts over at restartDelayMs', (t) => {
  const backoff = new RestartBackoff(100);
  const worker: BackoffState = { backoffStep: 4, readyAt: performance.now() - 10_001 };
  backoff.begin(worker);
  t.is(backoff.delayFor(worker), 100);
  const recent: BackoffState = { backoffStep: 4, readyAt: performance.now() };
  backoff.begin(recent);
  t.is(backoff.delayFor(recent), 1600);
});
