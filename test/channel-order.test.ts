/**
 * Per-pair FIFO (docs/semantics.md §1): every call and notify arrives exactly once and starts in issue
 * order, whatever the batch boundaries, the transport's chunking, or the handlers' timing.
 */
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { type Delay, nextTurn, pause, withDeadline } from './helpers/deadline.js';
import { TRANSPORT_KINDS, createPair, prng, type TransportKind } from './helpers/pairs.js';
import { failOnLeaks } from './helpers/leaks.js';

failOnLeaks(test);

/** A receiver that logs the sequence number of each message as its handler starts. */
function recorder() {
  const started: number[] = [];
  const api = {
    call(seq: number, delay: Delay, _payload?: unknown) {
      started.push(seq);
      const waiting = pause(delay);
      return waiting ? waiting.then(() => seq) : seq;
    },
    note(seq: number, delay: Delay, _payload?: unknown) {
      started.push(seq);
      return pause(delay);
    },
  };
  return { started, api };
}

for (const kind of TRANSPORT_KINDS) {
  test.serial(`${kind}: 100k mixed calls and notifies arrive and start in issue order`, async (t) => {
    const total = 100_000;
    const { started, api } = recorder();
    const { a } = await createPair(t, kind, { b: { api } });
    const random = Math.random;
    const calls: Promise<unknown>[] = [];
    const expected: number[] = [];
    for (let seq = 0; seq < total; seq++) {
      // Mostly synchronous handlers (fast), with some async ones so start order is what is tested.
      const delay = (random() < 0.05 ? 1 + Math.floor(random() * 2) : 0) as Delay;
      if (random() < 0.4) {
        void a.notify('note', [seq, delay]);
      } else {
        calls.push(a.call('call', [seq, delay]));
        expected.push(seq);
      }
    }
    // The last call starts after every earlier message has started.
    calls.push(a.call('call', [total, 0]));
    expected.push(total);
    const results = await withDeadline(Promise.all(calls), 15_000, `${total} messages over ${kind}`);
    t.deepEqual(results, expected);
    t.is(started.length, total + 1);
    const outOfOrder = started.findIndex((seq, i) => seq !== i);
    t.is(outOfOrder, -1, `first message out of order at position ${outOfOrder}: ${started[outOfOrder]}`);
  });
}

/** One step of the sender's script. */
type Op =
  | { op: 'call'; delay: Delay; payload: number }
  | { op: 'notify'; delay: Delay; payload: number }
  | { op: 'await-last' }
  | { op: 'await-turn' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ op: fc.constant('call' as const), delay: fc.constantFrom<Delay>(0, 1, 2, 3), payload: fc.nat(3000) }),
  },
  {
    weight: 5,
    arbitrary: fc.record({ op: fc.constant('notify' as const), delay: fc.constantFrom<Delay>(0, 1, 2, 3), payload: fc.nat(3000) }),
  },
  { weight: 1, arbitrary: fc.constant({ op: 'await-last' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'await-turn' as const }) },
);

const channelArb = fc.record({
  maxBatchBytes: fc.integer({ min: 1, max: 16_384 }),
  flushDelayMs: fc.constantFrom(0, 0, 1, 3),
  maxQueuedBytes: fc.constantFrom(512, 8192, 16 << 20),
});

/** Runs a random script over a fresh pair and checks order, exactly-once delivery, and replies. */
async function runScript(
  t: ExecutionContext,
  kind: TransportKind,
  options: { maxBatchBytes: number; flushDelayMs: number; maxQueuedBytes: number },
  ops: Op[],
  rechunk?: () => number,
): Promise<boolean> {
  const { started, api } = recorder();
  const pair = await createPair(t, kind, { channel: options, b: { api }, ...(rechunk ? { rechunk } : {}) });
  try {
    const calls: Promise<unknown>[] = [];
    const expected: unknown[] = [];
    let seq = 0;
    for (const step of ops) {
      if (step.op === 'await-last') {
        if (calls.length > 0) await calls[calls.length - 1];
      } else if (step.op === 'await-turn') {
        await nextTurn();
      } else {
        const args = [seq, step.delay, 'x'.repeat(step.payload)];
        if (step.op === 'call') {
          calls.push(pair.a.call('call', args));
          expected.push(seq);
        } else {
          // Awaiting some notifies respects backpressure, as a producer would.
          const accepted = pair.a.notify('note', args);
          if (seq % 3 === 0) await accepted;
        }
        seq++;
      }
    }
    calls.push(pair.a.call('call', [seq, 0]));
    expected.push(seq);
    const results = await withDeadline(Promise.all(calls), 10_000, 'script');
    const inOrder = started.length === seq + 1 && started.every((s, i) => s === i);
    if (!inOrder) t.log(`${kind} ${JSON.stringify(options)}: started ${JSON.stringify(started.slice(0, 50))}...`);
    return inOrder && results.length === expected.length && results.every((r, i) => r === expected[i]);
  } finally {
    pair.destroy();
  }
}

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: random batch boundaries, awaits and handler delays never reorder, lose or duplicate (fast-check)`, async (t) => {
    await fc.assert(
      fc.asyncProperty(channelArb, fc.array(opArb, { minLength: 1, maxLength: 120 }), (options, ops) => runScript(t, kind, options, ops)),
      { numRuns: kind === 'memory' ? 60 : 30 },
    );
    t.pass();
  });
}

test('tcp through a proxy that re-chunks bytes at random: order holds (fast-check)', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.integer(), channelArb, fc.array(opArb, { minLength: 1, maxLength: 80 }), (seed, options, ops) =>
      runScript(t, 'tcp', options, ops, prng(seed)),
    ),
    { numRuns: 20 },
  );
  t.pass();
});
