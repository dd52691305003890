/**
 * The queue of messages waiting for room: released in order; a call taken back (`withdraw`) is passed
 * over, wherever it stands, and never released (it is marked, not searched for: constant time each).
 */
import test from 'ava';
import fc from 'fast-check';
import { WaitQueue } from '../src/channel/wait-queue.js';

const WITHDRAWN = new Error('withdrawn');

function queueOf(n: number): { queue: WaitQueue; waits: Promise<void>[]; settled: string[] } {
  const queue = new WaitQueue();
  const settled: string[] = [];
  const waits = Array.from({ length: n }, (_, i) => {
    const wait = queue.add(new Uint8Array([i]), 1, true, undefined);
    wait.then(
      () => settled.push(`released ${i}`),
      () => settled.push(`rejected ${i}`),
    );
    return wait;
  });
  return { queue, waits, settled };
}

/** Releases everything still waiting, in order; returns the first byte of each released message. */
function releaseAll(queue: WaitQueue): number[] {
  const released: number[] = [];
  for (let waiter = queue.peek(); waiter; waiter = queue.peek()) {
    queue.shift();
    released.push(waiter.bytes[0]!);
    waiter.resolve();
  }
  return released;
}

test('property: any calls withdrawn, anywhere, between any releases: the rest leave in order, each once, and the length stays true', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 60 }), fc.array(fc.oneof(fc.nat(59), fc.constant(-1)), { maxLength: 80 }), (n, ops) => {
      const { queue, waits } = queueOf(n);
      const withdrawn = new Set<number>();
      const released: number[] = [];
      for (const op of ops) {
        if (op < 0) {
          // Release one.
          const waiter = queue.peek();
          if (!waiter) continue;
          queue.shift();
          released.push(waiter.bytes[0]!);
        } else if (op < n) {
          const still = !withdrawn.has(op) && !released.includes(op);
          t.is(queue.withdraw(waits[op]!, WITHDRAWN), still, `withdraw ${op}`);
          if (still) withdrawn.add(op);
        }
        t.is(queue.length, n - withdrawn.size - released.length);
      }
      released.push(...releaseAll(queue));
      t.deepEqual(
        released,
        Array.from({ length: n }, (_, i) => i).filter((i) => !withdrawn.has(i)),
      );
      t.is(queue.length, 0);
      t.is(queue.peek(), undefined);
    }),
    { numRuns: 300 },
  );
});

test('a withdrawn call rejects with the error given; rejectAll then rejects only those still waiting', async (t) => {
  const { queue, waits, settled } = queueOf(4);
  t.true(queue.withdraw(waits[1]!, WITHDRAWN));
  t.false(queue.withdraw(waits[1]!, WITHDRAWN), 'once');
  const first = queue.peek()!;
  queue.shift();
  first.resolve();
  t.false(queue.withdraw(waits[0]!, WITHDRAWN), 'not once released');
  queue.rejectAll(new Error('closed'));
  await Promise.allSettled(waits);
  t.deepEqual(settled.sort(), ['rejected 1', 'rejected 2', 'rejected 3', 'released 0']);
  t.is((await Promise.allSettled([waits[1]!]))[0]!.status, 'rejected');
  t.is(((await Promise.allSettled([waits[1]!]))[0] as PromiseRejectedResult).reason, WITHDRAWN);
  t.is(queue.length, 0);
});

test('100 000 waiting calls, every other one withdrawn from the back: the rest leave in order', (t) => {
  const { queue, waits } = queueOf(100_000);
  for (const wait of waits) wait.catch(() => {});
  // A search and a splice each made this quadratic: 3.3 s of blocked event loop for 100 000 (a reviewer's
  // measurement). The cost itself is not timed here (no timed unit tests); the scale is the point.
  for (let i = waits.length - 1; i >= 0; i -= 2) queue.withdraw(waits[i]!, WITHDRAWN);
  t.is(queue.length, 50_000);
  const released = releaseAll(queue);
  t.is(released.length, 50_000);
  t.true(
    released.every((byte, i) => byte === (i * 2) % 256),
    'the even ones, in order',
  );
  t.is(queue.length, 0);
});

test('calls withdrawn behind a message that cannot leave are dropped, bytes first: the queue does not grow with them', (t) => {
  const queue = new WaitQueue();
  // A notify at the head, waiting for room that does not come, and a call retried behind it with a timeout.
  const head = queue.add(new Uint8Array([0]), 1, false, undefined);
  head.catch(() => {});
  const live: number[] = [];
  for (let attempt = 1; attempt <= 10_000; attempt++) {
    const bytes = new Uint8Array(1000);
    bytes[0] = attempt % 256;
    const wait = queue.add(bytes, bytes.byteLength, true, undefined);
    wait.catch(() => {});
    if (attempt % 1000 === 0)
      live.push(attempt % 256); // now and then one that stays
    else t.true(queue.withdraw(wait, WITHDRAWN));
  }
  t.is(queue.length, 1 + live.length);
  // Before, all 10 000 stayed, each with its bytes.
  t.true(queue.slots <= 2 * 1024 + live.length + 1, `${queue.slots} entries held`);
  const released = releaseAll(queue);
  t.deepEqual(released, [0, ...live]);
  t.is(queue.slots, 0);
});

test('property, at scale (past the 1024 thresholds of compaction and of dropping withdrawn calls): order, length and places match a model', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 2 ** 30 }), fc.double({ min: 0.1, max: 0.9, noNaN: true }), (seed, withdrawRate) => {
      let state = seed;
      const random = (): number => {
        state = (state * 1103515245 + 12345) & 0x7fffffff;
        return state / 0x7fffffff;
      };
      const queue = new WaitQueue();
      // The model: what still waits, in order; the waits of calls by id, and where released ones went.
      const waiting: { id: number; wait: Promise<void>; isCall: boolean }[] = [];
      const fates = new Map<number, { wait: Promise<void>; isCall: boolean; seq?: number; withdrawn?: boolean }>();
      let nextId = 0;
      let seq = 0;
      for (let step = 0; step < 6000; step++) {
        const r = random();
        if (r < 0.45) {
          const id = nextId++;
          const isCall = random() < 0.9;
          const wait = queue.add(new Uint8Array([id & 255, (id >> 8) & 255, id >> 16]), 3, isCall, undefined);
          wait.catch(() => {});
          waiting.push({ id, wait, isCall });
          fates.set(id, { wait, isCall });
        } else if (r < 0.45 + 0.5 * withdrawRate) {
          if (waiting.length === 0) continue;
          // Anywhere but the head, mostly: withdrawn calls pile up behind a message that stays.
          const k = waiting.length === 1 ? 0 : 1 + Math.floor(random() * (waiting.length - 1));
          const entry = waiting[k]!;
          t.is(queue.withdraw(entry.wait, WITHDRAWN), entry.isCall);
          if (entry.isCall) {
            waiting.splice(k, 1);
            fates.get(entry.id)!.withdrawn = true;
          }
        } else if (random() < 0.3) {
          const waiter = queue.peek();
          const head = waiting.shift();
          t.is(waiter === undefined, head === undefined);
          if (!waiter || !head) continue;
          t.is(waiter.bytes[0]! | (waiter.bytes[1]! << 8) | (waiter.bytes[2]! << 16), head.id);
          queue.shift();
          waiter.seq = ++seq;
          fates.get(head.id)!.seq = waiter.seq;
        }
        if (queue.length !== waiting.length) return false;
      }
      for (const fate of fates.values()) {
        if (!fate.isCall) continue;
        const place = queue.placeOf(fate.wait);
        if (fate.withdrawn) t.is(place, undefined);
        else t.is(place, fate.seq ?? 0);
      }
      t.deepEqual(
        releaseAll(queue),
        waiting.map(({ id }) => id & 255),
      );
      return queue.length === 0 && queue.slots === 0;
    }),
    { numRuns: 12 },
  );
});
