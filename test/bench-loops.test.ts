// The benchmark's measuring loops (bench/loops.mjs): what `pipelined` counts and when its window ends. No
// spawning: the calls are local promises.
import test from 'ava';
import { pipelined } from '../bench/loops.mjs';

test('pipelined keeps `inflight` calls outstanding and reports every completed call over the time it took', async (t) => {
  let made = 0;
  let outstanding = 0;
  let most = 0;
  const call = async (): Promise<void> => {
    made++;
    most = Math.max(most, ++outstanding);
    await new Promise<void>((resolve) => setImmediate(resolve));
    outstanding--;
  };
  const began = performance.now();
  const rate = await pipelined(call, 100, 50);
  const took = performance.now() - began;
  t.is(outstanding, 0, 'every call settled before it resolved');
  t.is(most, 100);
  t.true(took >= 50, `the window lasted its 50 ms at least (${took.toFixed(1)} ms)`);
  // The rate is completions over the window's own time, which ends just before `took` does.
  const counted = (rate * took) / 1000;
  t.true(counted >= made * 0.99 && counted <= made * 1.1, `${made} calls made, ${counted.toFixed(0)} counted`);
});

test('pipelined reads the clock every call when few are in flight: one at a time ends one call late at most', async (t) => {
  let made = 0;
  const call = async (): Promise<void> => {
    made++;
    await new Promise<void>((resolve) => setTimeout(resolve, 5));
  };
  const began = performance.now();
  await pipelined(call, 1, 30);
  const took = performance.now() - began;
  t.true(took >= 30, `ran its 30 ms (${took.toFixed(1)} ms)`);
  // A deadline checked only every 64 completions would run 64 calls of ≥ 5 ms, 320 ms and more.
  t.true(made <= 30 / 5 + 2, `${made} calls of ≥ 5 ms in a 30 ms window`);
});
