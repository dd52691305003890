/**
 * Serial mode (docs/semantics.md §3): a receiver in serial mode finishes each message from a sender
 * before it starts the next. The default, start-order mode lets call cycles A→B→A complete.
 */
import test from 'ava';
import { TimeoutError } from '../src/errors.js';
import { currentCall } from '../src/rpc/call-context.js';
import type { Endpoint } from '../src/rpc/endpoint.js';
import { createRemote } from '../src/rpc/remote.js';
import { nextTurn, withDeadline } from './helpers/deadline.js';
import { TRANSPORT_KINDS, createPair } from './helpers/pairs.js';
import { failOnLeaks } from './helpers/leaks.js';

failOnLeaks(test);

/** Handlers that count how many are running at once, with random async pauses. */
function overlapProbe() {
  let active = 0;
  let maxActive = 0;
  const finished: number[] = [];
  const run = async (seq: number, delay: number): Promise<number> => {
    active++;
    maxActive = Math.max(maxActive, active);
    if (delay === 1) await Promise.resolve();
    else if (delay === 2) await nextTurn();
    else if (delay === 3) await new Promise((resolve) => setTimeout(resolve, 1));
    active--;
    finished.push(seq);
    return seq;
  };
  const api = {
    call: run,
    // A sync handler mixed in: serial mode must not wait for anything after it.
    sync(seq: number) {
      active++;
      maxActive = Math.max(maxActive, active);
      active--;
      finished.push(seq);
      return seq;
    },
    // An async notify handler: returns its promise, so serial mode can wait on it.
    asyncNote: (seq: number, delay: number) => run(seq, delay).then(() => undefined),
    failLater: async (seq: number) => {
      await run(seq, 2);
      throw new Error(`failed ${seq}`);
    },
  };
  return {
    api,
    finished,
    get maxActive() {
      return maxActive;
    },
  };
}

async function drive(a: Endpoint, count: number): Promise<void> {
  const calls: Promise<unknown>[] = [];
  for (let seq = 0; seq < count; seq++) {
    const delay = 1 + (seq % 3);
    switch (seq % 5) {
      case 0:
      case 1:
        calls.push(a.call('call', [seq, delay]));
        break;
      case 2:
        void a.notify('asyncNote', [seq, delay]);
        break;
      case 3:
        calls.push(a.call('sync', [seq]));
        break;
      case 4:
        calls.push(a.call('failLater', [seq]).catch(() => undefined));
        break;
    }
  }
  calls.push(a.call('sync', [count]));
  await withDeadline(Promise.all(calls), 10_000, `${count} messages`);
}

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: serial mode: async handlers from one sender never overlap and finish in issue order`, async (t) => {
    const probe = overlapProbe();
    const { a } = await createPair(t, kind, { b: { api: probe.api, serial: true } });
    await drive(a, 500);
    t.is(probe.maxActive, 1);
    t.deepEqual(
      probe.finished,
      Array.from({ length: 501 }, (_, i) => i),
    );
  });

  test(`${kind}: serial mode: a call that times out while queued starts with its signal aborted, so the queue moves on`, async (t) => {
    const seenAborted: boolean[] = [];
    const api = {
      // Honours cancellation, as a long handler should: returns when its signal aborts.
      untilCancelled() {
        const { signal } = currentCall();
        seenAborted.push(signal.aborted);
        if (signal.aborted) return 'cancelled before start';
        return new Promise((resolve) => signal.addEventListener('abort', () => resolve('cancelled')));
      },
      quick: () => 'ok',
    };
    const { a } = await createPair(t, kind, { b: { api, serial: true } });
    const first = a.call('untilCancelled', [], { timeoutMs: 200 });
    const queued = a.call('untilCancelled', [], { timeoutMs: 20 });
    await t.throwsAsync(withDeadline(queued, 5000, 'queued call times out'), { instanceOf: TimeoutError });
    await t.throwsAsync(withDeadline(first, 5000, 'first call times out'), { instanceOf: TimeoutError });
    t.is(await withDeadline(a.call('quick', []), 5000, 'a later call gets its turn'), 'ok');
    t.deepEqual(seenAborted, [false, true]);
  });

  test(`${kind}: default mode starts handlers in order without waiting, so async handlers overlap`, async (t) => {
    // The contrast that shows the serial test above can fail.
    const probe = overlapProbe();
    const { a } = await createPair(t, kind, { b: { api: probe.api } });
    await drive(a, 500);
    t.true(probe.maxActive > 1, `max ${probe.maxActive} handlers at once`);
  });

  test(`${kind}: A→B→A call cycles complete in default mode (B's handler calls back into A over the same pair)`, async (t) => {
    interface SideA {
      ping(n: number): number;
      bounce(depth: number): Promise<number>;
    }
    interface SideB {
      relay(n: number): Promise<number>;
      bounce(depth: number): Promise<number>;
    }
    let toA!: ReturnType<typeof createRemote<SideA>>;
    let toB!: ReturnType<typeof createRemote<SideB>>;
    const apiA: SideA = {
      ping: (n) => n + 1,
      bounce: (depth) => (depth === 0 ? Promise.resolve(0) : toB.bounce(depth - 1).then((d) => d + 1)),
    };
    const apiB: SideB = {
      relay: async (n) => (await toA.ping(n)) * 10,
      bounce: (depth) => (depth === 0 ? Promise.resolve(0) : toA.bounce(depth - 1).then((d) => d + 1)),
    };
    const { a, b } = await createPair(t, kind, { a: { api: apiA }, b: { api: apiB } });
    toB = createRemote<SideB>(a);
    toA = createRemote<SideA>(b);
    const relays = await withDeadline(Promise.all(Array.from({ length: 200 }, (_, n) => toB.relay(n))), 10_000, 'relays');
    t.deepEqual(
      relays,
      Array.from({ length: 200 }, (_, n) => (n + 1) * 10),
    );
    // Deep ping-pong: A→B→A→B... twenty levels, all waiting on each other over one pair.
    t.is(await withDeadline(toB.bounce(20), 10_000, 'bounce'), 20);
  });

  test(`${kind}: A→B→A cycles complete under backpressure too (small maxQueuedBytes both ways)`, async (t) => {
    let toA!: ReturnType<typeof createRemote<{ ping(n: number, pad: string): number }>>;
    const apiB = { relay: async (n: number, pad: string) => (await toA.ping(n, pad)) + 1 };
    const { a, b } = await createPair(t, kind, {
      channel: { maxQueuedBytes: 1024 },
      a: { api: { ping: (n: number, _pad: string) => n * 2 } },
      b: { api: apiB },
    });
    toA = createRemote(b);
    const pad = 'p'.repeat(100);
    const out = await withDeadline(Promise.all(Array.from({ length: 300 }, (_, n) => a.call('relay', [n, pad]))), 10_000, 'relays');
    t.deepEqual(
      out,
      Array.from({ length: 300 }, (_, n) => n * 2 + 1),
    );
  });

  test(`${kind}: a serial callee may call back into a default-mode caller`, async (t) => {
    let toA!: ReturnType<typeof createRemote<{ ping(n: number): number }>>;
    const apiB = { relay: async (n: number) => (await toA.ping(n)) + 1000 };
    const { a, b } = await createPair(t, kind, { a: { api: { ping: (n: number) => n } }, b: { api: apiB, serial: true } });
    toA = createRemote(b);
    const out = await withDeadline(Promise.all([1, 2, 3].map((n) => a.call('relay', [n]))), 10_000, 'relays');
    t.deepEqual(out, [1001, 1002, 1003]);
  });
}
