/**
 * Replies match their calls (docs/semantics.md §2): under 10k concurrent calls whose handlers finish in
 * random order, every call resolves with its own result, exactly once.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import test from 'ava';
import { nextTurn, withDeadline } from './helpers/deadline.js';
import { TRANSPORT_KINDS, createPair } from './helpers/pairs.js';
import { failOnLeaks } from './helpers/leaks.js';

failOnLeaks(test);

const CALLS = 10_000;
// Serial: both ends of each pair, and every kind's pair, share this one thread; run at once, each test's
// deadline would pay for the other tests' calls (at load 16-20 on 2 cores, 10-15 s against 0.3-3 s alone).

for (const kind of TRANSPORT_KINDS) {
  test.serial(`${kind}: ${CALLS} concurrent calls with random async delays each get their own reply`, async (t) => {
    const finished: number[] = [];
    const api = {
      async work(id: number, delay: number, token: string) {
        if (delay === 1) await Promise.resolve();
        else if (delay === 2) await nextTurn();
        else if (delay >= 3) await new Promise((resolve) => setTimeout(resolve, delay - 3));
        finished.push(id);
        return { id, token: token.toUpperCase(), square: id * id };
      },
    };
    const { a } = await createPair(t, kind, { b: { api } });
    const calls = Array.from({ length: CALLS }, (_, id) => {
      const delay = Math.floor(Math.random() * 8);
      const token = `t${id}-${(id * 2654435761) % 1000}`;
      return a.call('work', [id, delay, token]).then((reply) => ({ id, token, reply }));
    });
    const results = await withDeadline(Promise.all(calls), 15_000, `${CALLS} calls`);
    const wrong = results.filter(
      ({ id, token, reply }) => JSON.stringify(reply) !== JSON.stringify({ id, token: token.toUpperCase(), square: id * id }),
    );
    t.is(wrong.length, 0, `mismatched replies, e.g. ${JSON.stringify(wrong[0])}`);
    t.is(finished.length, CALLS);
    t.is(new Set(finished).size, CALLS, 'each handler ran once');
    // The random delays did make replies come back out of issue order: matching was actually exercised.
    t.true(
      finished.some((id, i) => id !== i),
      'handlers finished out of order',
    );
    t.is(a.pendingCalls, 0);
    t.is(a.channel.inFlight, 0);
  });
}

for (const kind of TRANSPORT_KINDS) {
  test.serial(`${kind}: sync handlers complete, and their replies resolve, in issue order`, async (t) => {
    const api = { id: (n: number) => n };
    const { a } = await createPair(t, kind, { b: { api } });
    const resolvedOrder: number[] = [];
    const calls = Array.from({ length: 2000 }, (_, n) => a.call('id', [n]).then(() => resolvedOrder.push(n)));
    await withDeadline(Promise.all(calls), 10_000, 'calls');
    t.deepEqual(
      resolvedOrder,
      Array.from({ length: 2000 }, (_, n) => n),
    );
  });
}

for (const kind of TRANSPORT_KINDS) {
  test.serial(
    `${kind}: a peer that answers and goes away at once: every call it answered resolves, though the caller was far behind`,
    async (t) => {
      // Replies pile up on the caller (work per reply, a receiver that takes a few frames per turn); the
      // callee closes right after its last answer. What it sent was received: each call must resolve.
      const count = 20_000;
      let answered = 0;
      let pair: Awaited<ReturnType<typeof createPair>> | undefined;
      const api = {
        answer(i: number) {
          if (++answered === count) setImmediate(() => pair!.b.close(new Error('the callee went away')));
          return i;
        },
      };
      pair = await createPair(t, kind, { framesPerTurn: 4, channel: { maxQueuedBytes: 64 << 20 }, b: { api } });
      const { a } = pair;
      let resolved = 0;
      const failed: unknown[] = [];
      const calls = Array.from({ length: count }, (_, i) =>
        a.call('answer', [i]).then(
          (value) => {
            if (value === i) resolved++;
            const end = performance.now() + 0.02;
            while (performance.now() < end);
          },
          (error: unknown) => void failed.push(error),
        ),
      );
      await withDeadline(Promise.all(calls), 30_000, `${count} calls`);
      t.deepEqual({ resolved, failed: failed.length }, { resolved: count, failed: 0 });
    },
  );
}

test.serial('a settled call leaves nothing of its result behind on the calling side', async (t) => {
  // The caller keeps no reference to a call once it has settled: not the result, not the promise (an
  // executor shared by every call hands it its settlers, and must not keep the last ones).
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const { a } = await createPair(t, 'memory', { b: { api: { big: () => ({ payload: 'x'.repeat(1 << 20) }) } } });
  const callOnce = async (): Promise<WeakRef<object>> => new WeakRef((await a.call('big', [])) as object);
  const result = await withDeadline(callOnce(), 5_000, 'the call');
  await nextTurn();
  gc();
  t.is(result.deref(), undefined, 'the result is still reachable after the call settled');
});
