/**
 * What a worker reports of its own thread or process in a stats answer (worker/process-health.ts): heap,
 * and how late its event loop ran since the previous reading, which a stall must show.
 */
import test from 'ava';
import { RESOLUTION_MS, readProcessHealth } from '../src/worker/process-health.js';

function stall(ms: number): void {
  const started = performance.now();
  while (performance.now() - started < ms);
}

test('the first reading starts the delay monitor and reports none; a later one shows a 150 ms stall', async (t) => {
  t.timeout(20_000);
  const first = readProcessHealth();
  t.is(first.eventLoopDelayMs, null, 'the first reading only starts the monitor');
  t.true(first.heapUsedBytes > 0 && first.heapTotalBytes >= first.heapUsedBytes, 'heap figures');
  // The monitor measures the time between two ticks of its timer, and a reading resets it, after which its
  // next tick only starts counting again: so let it tick, stall, let it tick again, read; again until a
  // reading shows the stall, within a deadline.
  const ticks = () => new Promise((resolve) => setTimeout(resolve, RESOLUTION_MS * 3));
  const deadline = Date.now() + 10_000;
  let delay = readProcessHealth().eventLoopDelayMs;
  while (!(delay && delay.max >= 100) && Date.now() < deadline) {
    await ticks();
    stall(150);
    await ticks();
    delay = readProcessHealth().eventLoopDelayMs;
  }
  t.truthy(delay, 'a reading after the first has figures');
  t.true(delay!.max >= 100, `a 150 ms stall shows (max ${delay!.max} ms)`);
  t.true(delay!.p50 <= delay!.p99 && delay!.p99 <= delay!.max, 'p50 ≤ p99 ≤ max');
});
