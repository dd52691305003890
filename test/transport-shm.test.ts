/**
 * What the shared-memory transport (src/transport/shm.ts) adds to the Transport contract, which it passes
 * with the other kinds (transport-contract.test.ts): exact order across its two paths (the ring, and the
 * port for large frames and transferred buffers), frames read in place, backpressure when the ring is full, a sender thread
 * terminated mid-burst, junk on the port, and a spin that ends when the channel goes quiet.
 */
import { once } from 'node:events';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { ProtocolError } from '../src/errors.js';
import { ShmTransport, createShmPair } from '../src/transport/shm.js';
import { LONG_SPIN_MS, SpinBudget, spinUntil } from '../src/transport/shm-spinner.js';
import type { TransportHandlers } from '../src/transport/transport.js';
import { pollUntil } from './helpers/cluster.js';
import { Counter, deferred, nextTurn, withDeadline } from './helpers/deadline.js';
import { failOnLeaks } from './helpers/leaks.js';
import { frameBytes, frameProblem, frameTransfer } from './helpers/shm-frames.js';
import { fixture } from './helpers/repo.js';

failOnLeaks(test);

const RING_BYTES = 4096;

/** Two shared-memory transports over a fresh MessageChannel, destroyed (and the ports closed) in teardown. */
function pair(t: ExecutionContext, spinMicros = 0, ringBytes = RING_BYTES): { a: ShmTransport; b: ShmTransport; portA: MessagePort } {
  const { port1, port2 } = new MessageChannel();
  const [endA, endB] = createShmPair(ringBytes, spinMicros);
  const a = new ShmTransport(port1, endA);
  const b = new ShmTransport(port2, endB);
  t.teardown(() => {
    a.destroy();
    b.destroy();
    port1.close();
  });
  return { a, b, portA: port1 };
}

/** Starts `transport`, checking each frame against frameBytes(k) in turn. */
function receiver(transport: ShmTransport, ringBytes = RING_BYTES) {
  const received = new Counter();
  const problems: string[] = [];
  const closed = deferred<Error | undefined>();
  let drains = 0;
  const handlers: TransportHandlers = {
    frame(bytes, transferred) {
      const problem = frameProblem(received.count, bytes, transferred, ringBytes);
      if (problem) problems.push(problem);
      received.add();
    },
    close: (error) => closed.resolve(error),
    drain: () => drains++,
  };
  return {
    received,
    problems,
    closed: closed.promise,
    start: () => transport.start(handlers),
    get drains() {
      return drains;
    },
  };
}

/** A sender's side: started, counting drains. */
function sender(transport: ShmTransport) {
  let drained = deferred();
  let drains = 0;
  transport.start({
    frame() {},
    close() {},
    drain() {
      drains++;
      drained.resolve();
    },
  });
  return {
    /** Resolves at the next drain. */
    nextDrain(): Promise<void> {
      drained = deferred();
      return withDeadline(drained.promise, 5000, 'drain');
    },
    get drains() {
      return drains;
    },
  };
}

test('order across both paths (fast-check): ring records, large frames and transferred buffers interleaved, the reader started at any point, with and without a spin', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 300 }),
      fc.integer({ min: 0, max: 300 }),
      fc.array(fc.boolean(), { minLength: 1, maxLength: 16 }),
      fc.constantFrom(0, 20),
      async (count, startAt, yields, spinMicros) => {
        const { a, b } = pair(t, spinMicros);
        sender(a);
        const r = receiver(b);
        for (let k = 0; k < count; k++) {
          if (k === startAt) r.start();
          a.send(frameBytes(k, RING_BYTES), frameTransfer(k));
          // Yield at random points: the reader finds some frames waiting and sleeps between others.
          if (yields[k % yields.length]) await nextTurn();
        }
        if (startAt >= count) r.start();
        await r.received.reach(count, 5000, 'every frame');
        a.destroy();
        b.destroy();
        return r.problems.length === 0 && r.received.count === count;
      },
    ),
    { numRuns: 40 },
  );
  t.pass();
});

test('order across both paths, from frame 0: every frame whole and in its place', async (t) => {
  const { a, b } = pair(t);
  sender(a);
  const r = receiver(b);
  r.start();
  const count = 3000;
  let sent = 0;
  while (sent < count) {
    // Bursts of varying length, so some find the reader asleep and some find it draining.
    const burst = 1 + (sent % 17);
    for (let i = 0; i < burst && sent < count; i++, sent++) a.send(frameBytes(sent, RING_BYTES), frameTransfer(sent));
    await nextTurn();
  }
  await r.received.reach(count, 10_000, 'every frame');
  t.deepEqual(r.problems, []);
});

test('a frame is read in place, its space freed only after its delivery: a writer filling the ring meanwhile leaves it whole', async (t) => {
  const { a, b } = pair(t);
  sender(a);
  const first = new Uint8Array(64).fill(0x11);
  // The smallest record (16 bytes): the writer fills the ring up to the last byte it is allowed.
  const filler = new Uint8Array(8).fill(0xee);
  const checked = deferred<{ intact: boolean; fillers: number }>();
  let delivered = 0;
  b.start({
    frame(data) {
      if (delivered++ > 0) return;
      // The view into the ring itself, not a copy: the point is whether later writes reach it.
      if (typeof data === 'string' || Array.isArray(data)) throw new Error('Expected a frame of bytes');
      const bytes = data;
      const before = Buffer.from(bytes);
      // Every byte the writer may use: were this record's space free already, the fillers would wrap onto it.
      let fillers = 0;
      while (a.send(filler.slice())) fillers++;
      checked.resolve({ intact: Buffer.from(bytes).equals(before) && before.equals(first), fillers });
    },
    close() {},
    drain() {},
  });
  a.send(first.slice());
  const { intact, fillers } = await withDeadline(checked.promise, 5000, 'the first frame');
  t.true(fillers >= (RING_BYTES - 80) / 16, `the writer filled the ring (${fillers} fillers)`);
  t.true(intact, 'the frame under delivery kept its bytes');
});

test('a full ring is backpressure: send returns false without blocking, and drain follows once the reader catches up', async (t) => {
  const { a, b } = pair(t);
  const s = sender(a);
  const r = receiver(b);
  // The reader is not started: the ring fills. Small frames only (frameBytes(k) with k % 7 !== 6 and no transfer).
  let k = 0;
  let accepted = true;
  const ticks = new Counter();
  const ticker = setInterval(() => ticks.add(), 1);
  t.teardown(() => clearInterval(ticker));
  while (accepted) {
    accepted = a.send(frameBytes(k, RING_BYTES), frameTransfer(k));
    k++;
    t.true(k < 10_000, 'the ring filled');
  }
  // The event loop runs while the sender waits: nothing spins.
  await ticks.reach(ticks.count + 3, 5000, 'timer ticks while the ring is full');
  t.is(s.drains, 0, 'no drain while the reader is stopped');
  const drained = s.nextDrain();
  r.start();
  await drained;
  // After the drain the sender goes on; everything arrives, in order.
  for (let i = 0; i < 50; i++, k++) a.send(frameBytes(k, RING_BYTES), frameTransfer(k));
  await r.received.reach(k, 5000, 'every frame');
  t.deepEqual(r.problems, []);
});

test('close() hands over frames held for room: the reader gets every one, in order, then a clean close', async (t) => {
  const { a, b } = pair(t);
  sender(a);
  const r = receiver(b);
  let k = 0;
  while (a.send(frameBytes(k, RING_BYTES), frameTransfer(k))) k++;
  for (let i = 0; i < 20; i++) a.send(frameBytes(++k, RING_BYTES), frameTransfer(k));
  a.close();
  t.false(a.send(frameBytes(k + 1, RING_BYTES)), 'send after close is refused');
  r.start();
  t.is(await withDeadline(r.closed, 5000, 'close'), undefined);
  t.is(r.received.count, k + 1);
  t.deepEqual(r.problems, []);
});

test('a sender thread terminated mid-burst: what it published arrives whole and in order, a torn record is never read, then close', async (t) => {
  const { port1, port2 } = new MessageChannel();
  const ringBytes = 16 * 1024;
  const [mine, theirs] = createShmPair(ringBytes, 0);
  const worker = new Worker(fixture('shm-sender.mjs'), {
    workerData: { port: port2, end: theirs, ringBytes },
    transferList: [port2],
  });
  const exited = once(worker, 'exit');
  t.teardown(async () => {
    port1.close();
    await worker.terminate();
  });
  const transport = new ShmTransport(port1, mine);
  t.teardown(() => transport.destroy());
  const r = receiver(transport, ringBytes);
  r.start();
  await r.received.reach(5000, 20_000, 'frames from the sender thread');
  // Terminated wherever it is: likely in the middle of writing a record.
  void worker.terminate();
  const error = await withDeadline(r.closed, 5000, 'close after the sender died');
  await withDeadline(exited, 5000, 'sender exit');
  t.is(error, undefined, 'the port closed: a clean close (the channel above names the death)');
  t.log(`${r.received.count} frames before the end`);
  t.true(r.received.count >= 5000);
  t.deepEqual(r.problems, [], 'every frame whole and in its place');
});

test('a listener that destroys the transport gets no frame after it, not even one already in the ring', async (t) => {
  const { a, b } = pair(t, 0, 64 * 1024);
  sender(a);
  let frames = 0;
  const closed = deferred<Error | undefined>();
  b.start({
    frame() {
      frames++;
      // After this pass, before the next: the continuation already scheduled must deliver nothing.
      queueMicrotask(() => b.destroy(new Error('enough')));
    },
    close: (error) => closed.resolve(error),
    drain() {},
  });
  // Three ring records, each larger than a pass: delivery yields to the event loop between them.
  for (let k = 0; k < 3; k++) a.send(new Uint8Array(5000));
  t.like(await withDeadline(closed.promise, 5000, 'close'), { message: 'enough' });
  for (let i = 0; i < 5; i++) await nextTurn();
  t.is(frames, 1);
});

test('junk on the port destroys the transport with ProtocolError', async (t) => {
  const { b, portA } = pair(t);
  const r = receiver(b);
  r.start();
  // a's port used raw (a is never started): a string is no frame, wake or notice.
  portA.postMessage('hello');
  const error = await withDeadline(r.closed, 5000, 'close');
  t.true(error instanceof ProtocolError, String(error));
  t.true(b.closed);
});

// Serial: the Immediates of the other tests' readers would look like a spin still running.
test.serial('spinMicros: a reader polls after traffic, then stops — a quiet channel leaves no spin scheduled', async (t) => {
  const { a, b } = pair(t, 2000);
  sender(a);
  const r = receiver(b);
  r.start();
  for (let k = 0; k < 200; k++) {
    a.send(frameBytes(k, RING_BYTES), frameTransfer(k));
    if (k % 10 === 0) await nextTurn();
  }
  await r.received.reach(200, 5000, 'every frame');
  t.deepEqual(r.problems, []);
  // Spinning is a chain of Immediates; once both sides' 2 ms are up, none is left.
  await pollUntil(() => !process.getActiveResourcesInfo().includes('Immediate'), 5000, 'the spin ends', 5);
  t.pass();
});

test('the spin budget: full while spins pay, halved by each that finds nothing, down to none but for a full probe every 16th chance', (t) => {
  const budget = new SpinBudget(64);
  t.is(budget.next(), 0.064);
  budget.wasted();
  t.is(budget.next(), 0.032);
  budget.paid();
  t.is(budget.next(), 0.064, 'a spin that pays restores the full budget');
  for (let i = 0; i < 6; i++) budget.wasted();
  t.true(Math.abs(budget.next() - 0.001) < 1e-12, 'down to 1 µs');
  budget.wasted();
  // Half a microsecond is not worth starting: no spin, but for a full one every 16th chance.
  const chances = Array.from({ length: 32 }, () => budget.next());
  t.deepEqual(
    chances.filter((ms) => ms > 0),
    [0.064, 0.064],
  );
  t.is(chances.indexOf(0.064), 15);
  budget.paid();
  t.is(budget.next(), 0.064);
  t.is(new SpinBudget(0).next(), 0, 'spinMicros 0 never spins');
});

test('the spin budget: a spin wasted while the peer had not read what this side sent is followed by a long one, past a scheduler tick', (t) => {
  const budget = new SpinBudget(64);
  budget.wasted(true);
  t.is(budget.next(), LONG_SPIN_MS, 'the peer stalled: a long spin');
  budget.paid();
  t.is(budget.next(), 0.064, 'it paid: full spins again');
  budget.paid();
  budget.wasted(true);
  t.is(budget.next(), LONG_SPIN_MS, 'it helped (the spin after it paid): the next stall gets one at once');
  t.is(new SpinBudget(8000).next(), 8, 'a full spin longer than a long one');
  const big = new SpinBudget(8000);
  big.wasted(true);
  t.is(big.next(), 8, 'a long spin is never shorter than the full one');
});

test('the spin budget: a long spin that does not help makes the stalls wait, doubling, up to one in 64, until one helps again', (t) => {
  const budget = new SpinBudget(64);
  /** How many stalls, each a wasted full spin, until one is followed by a long spin. */
  const stallsToLong = (): number => {
    for (let stalls = 1; stalls <= 1000; stalls++) {
      budget.paid();
      budget.wasted(true);
      if (budget.next() === LONG_SPIN_MS) return stalls;
    }
    return -1;
  };
  t.is(stallsToLong(), 1);
  budget.wasted(true);
  t.is(budget.next(), 0, 'a long spin that found nothing: the budget is spent');
  t.is(stallsToLong(), 2, 'then every second stall');
  budget.paid();
  budget.wasted(true);
  t.is(budget.next(), 0, 'a long spin paid, but the spin after it did not: no help either');
  t.is(stallsToLong(), 4);
  const waits: number[] = [];
  for (let k = 0; k < 5; k++) {
    budget.wasted(false);
    waits.push(stallsToLong());
  }
  t.deepEqual(waits, [8, 16, 32, 64, 64]);
  budget.paid();
  budget.paid();
  t.is(stallsToLong(), 1, 'a long spin that helped (it paid, and so did the next): every stall gets one again');
});

// Serial: the spinner is one per thread, shared with the other tests' readers.
test.serial(
  'a long spin gives the event loop a turn every half millisecond: a timer due meanwhile runs before the spin ends',
  async (t) => {
    let expired = false;
    const ended = deferred<void>();
    spinUntil(
      {
        poll: () => false,
        ready: () => t.fail('nothing was ever ready'),
        expired: () => {
          expired = true;
          ended.resolve();
        },
      },
      performance.now() + 100,
    );
    const timerRan = new Promise<boolean>((resolve) => setTimeout(() => resolve(!expired), 1));
    t.true(await withDeadline(timerRan, 5000, 'the timer'), 'the timer ran while the spin went on');
    await withDeadline(ended.promise, 5000, 'the spin ends');
  },
);
