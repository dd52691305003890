/**
 * Flow control: data messages wait while `maxQueuedBytes` are queued or unacked, or `maxInFlight` calls
 * await replies; they keep their order while waiting. With `backpressure: 'reject'` they fail at once.
 */
import test from 'ava';
import { ChannelFullError, WorkerDiedError } from '../src/errors.js';
import { Channel } from '../src/channel/channel.js';
import { Outbox } from '../src/channel/outbox.js';
import { MESSAGE_OVERHEAD_BYTES } from '../src/channel/send-window.js';
import { Decoder, Encoder } from '../src/protocol/codec.js';
import { Kind } from '../src/protocol/messages.js';
import { transfer } from '../src/protocol/transfer.js';
import { Endpoint } from '../src/rpc/endpoint.js';
import { Counter, deferred, nextTurn, outcome, withDeadline } from './helpers/deadline.js';
import { TRANSPORT_KINDS, createPair, createTransportPair, frameBytes } from './helpers/pairs.js';
import { failOnLeaks } from './helpers/leaks.js';

failOnLeaks(test);

/** True if `promise` is still pending once the microtask queue has drained. */
async function isPending(promise: Promise<unknown>): Promise<boolean> {
  const marker = Symbol('pending');
  const first = await Promise.race([
    promise.then(
      () => 'settled',
      () => 'settled',
    ),
    nextTurn().then(() => marker),
  ]);
  return first === marker;
}

function receiver() {
  const seen: number[] = [];
  const count = new Counter();
  const api = {
    note(seq: number, _payload: string) {
      seen.push(seq);
      count.add();
    },
    call(seq: number, _payload: string) {
      seen.push(seq);
      count.add();
      return seq;
    },
  };
  return { api, seen, count };
}

for (const kind of TRANSPORT_KINDS) {
  // Serial: both ends, and every kind's pair, share this thread; at once, 3000 messages through a 2 KiB
  // window per kind missed their 10 s under load (0.6-2.9 s each alone).
  test.serial(
    `${kind}: under load with a small maxQueuedBytes, notify() returns a pending promise and everything arrives in order`,
    async (t) => {
      const r = receiver();
      const maxQueuedBytes = 2048;
      const { a } = await createPair(t, kind, { channel: { maxQueuedBytes }, b: { api: r.api } });
      const total = 3000;
      const accepted: Promise<void>[] = [];
      let maxWindow = 0;
      for (let seq = 0; seq < total; seq++) {
        const payload = 'p'.repeat(150);
        if (seq % 4 === 3) accepted.push(a.call('call', [seq, payload]).then(() => undefined));
        else accepted.push(a.notify('note', [seq, payload]));
        maxWindow = Math.max(maxWindow, a.channel.windowBytes);
      }
      t.true(a.channel.waiting > 0, 'messages wait for room');
      t.true(maxWindow <= maxQueuedBytes, `window ${maxWindow} within maxQueuedBytes`);
      // The last notify cannot have been accepted yet: it is behind thousands of bytes in the wait queue.
      t.true(await isPending(accepted[total - 2]!));
      await withDeadline(Promise.all(accepted), 10_000, 'all accepted');
      await r.count.reach(total, 10_000, 'all handled');
      t.deepEqual(
        r.seen,
        Array.from({ length: total }, (_, i) => i),
      );
      t.true(a.channel.stats.waits > 0);
    },
  );

  test(`${kind}: a producer that awaits each notify never holds more than maxQueuedBytes`, async (t) => {
    const r = receiver();
    // Room for a few messages: each counts its ~220 bytes plus MESSAGE_OVERHEAD_BYTES against the window.
    const maxQueuedBytes = 4 * (220 + MESSAGE_OVERHEAD_BYTES);
    const { a } = await createPair(t, kind, { channel: { maxQueuedBytes }, b: { api: r.api } });
    let maxWindow = 0;
    let waited = 0;
    for (let seq = 0; seq < 500; seq++) {
      const accepted = a.notify('note', [seq, 'q'.repeat(200)]);
      if (await isPending(accepted)) waited++;
      await accepted;
      maxWindow = Math.max(maxWindow, a.channel.windowBytes);
    }
    await r.count.reach(500, 10_000, 'all handled');
    t.true(waited > 0, 'some notifies had to wait');
    t.true(maxWindow <= maxQueuedBytes);
    t.deepEqual(
      r.seen,
      Array.from({ length: 500 }, (_, i) => i),
    );
  });

  test(`${kind}: a notify whose handler keeps running holds its own cost of the window, not that of the frame it came in`, async (t) => {
    const release = deferred();
    let incs = 0;
    const api = {
      job: () => release.promise, // a long job started by a notify: its acknowledgement waits for it
      inc(by: number) {
        incs += by;
        return incs;
      },
    };
    const { a, b } = await createPair(t, kind, { b: { api } });
    // In one turn: the job and 2000 notifies behind it share their frames.
    a.notify('job', []);
    for (let i = 0; i < 2000; i++) a.notify('inc', [1]);
    // A call behind them: its reply comes once all were handled, with the acknowledgements of what is not held.
    t.is(await withDeadline(a.call('inc', [0]), 10_000, 'a call behind the notifies'), 2000);
    const jobCost = MESSAGE_OVERHEAD_BYTES + 64; // its encoded size, or the bound a lone value frame is charged
    // Before, the job's whole frame stayed charged (over 2 MB of the window, 2000 x ~1 KiB).
    t.true(a.channel.windowBytes <= jobCost, `the sender's window holds ${a.channel.windowBytes} bytes`);
    t.true(b.channel.stats.heldBytes > 0 && b.channel.stats.heldBytes <= jobCost, `the receiver holds ${b.channel.stats.heldBytes}`);
    release.resolve();
    await withDeadline(a.call('inc', [0]), 10_000, 'a call after the job');
    t.is(b.channel.stats.heldBytes, 0);
    // The job's acknowledgement may leave after the call's reply: the next frame carries it.
    await withDeadline(a.call('inc', [0]), 10_000, 'another call');
    t.is(a.channel.windowBytes, 0);
  });

  test(`${kind}: a running notify holds the bytes it transferred too: the window bounds what the receiver holds`, async (t) => {
    let running = 0;
    let maxRunning = 0;
    const releases: (() => void)[] = [];
    const api = {
      job(_bytes: Uint8Array) {
        running++;
        maxRunning = Math.max(maxRunning, running);
        return new Promise<void>((resolve) =>
          releases.push(() => {
            running--;
            resolve();
          }),
        );
      },
    };
    const maxQueuedBytes = 1 << 20;
    const { a, b } = await createPair(t, kind, { channel: { maxQueuedBytes }, a: { api: { ping: () => 1 } }, b: { api } });
    const accepted: Promise<void>[] = [];
    for (let i = 0; i < 16; i++) {
      const buffer = new ArrayBuffer(256 * 1024);
      accepted.push(a.notify('job', [transfer(new Uint8Array(buffer), [buffer])]));
    }
    for (const done of accepted) done.catch(() => {});
    await withDeadline(
      (async () => {
        while (running < 3) await nextTurn();
      })(),
      10_000,
      'three jobs running',
    );
    // Two round trips the other way: b's acknowledgements of what is not held reach a, and a sends what fits.
    await withDeadline(b.call('ping', []), 5000, 'a ping');
    await withDeadline(b.call('ping', []), 5000, 'another ping');
    // Each job costs 256 KiB and 1 KiB: four at most fit in 1 MiB. Before, over a port every one of the 16
    // ran at once (the transferred bytes were acknowledged with the frame).
    t.true(maxRunning <= 4, `${maxRunning} jobs ran at once`);
    t.true(a.channel.waiting > 0, 'the rest wait for room');
    await withDeadline(
      (async () => {
        let done = 0;
        while (done < 16) {
          const release = releases.shift();
          if (release) {
            release();
            done++;
          } else await nextTurn();
        }
      })(),
      10_000,
      'every job run and released',
    );
    await withDeadline(Promise.all(accepted), 10_000, 'every notify accepted');
  });

  test(`${kind}: convoy's own call overtakes calls held by flow control, and neither breaks the channel`, async (t) => {
    // Its id is above theirs, yet it arrives first: the callee takes each kind in its own order.
    const gate = deferred();
    const started = new Counter();
    const api = {
      async slow(n: number) {
        started.add();
        await gate.promise;
        return n;
      },
    };
    const { a, b } = await createPair(t, kind, { channel: { maxInFlight: 2 }, b: { api, system: { '\0stats': () => 'internal' } } });
    const calls = [0, 1, 2, 3].map((n) => a.call('slow', [n]));
    await started.reach(2, 5000, 'two calls started');
    t.is(a.channel.waiting, 2, 'two calls wait for a place');
    t.is(await withDeadline(a.call('\0stats', []), 5000, "convoy's own call"), 'internal');
    gate.resolve();
    t.deepEqual(await withDeadline(Promise.all(calls), 5000, 'the held calls'), [0, 1, 2, 3]);
    t.false(b.closed || a.closed, 'both ends still open');
  });

  test(`${kind}: when the peer dies, calls that left may have run and calls and notifies still waiting for room did not`, async (t) => {
    const started = new Counter();
    const api = {
      never() {
        started.add();
        return new Promise(() => {});
      },
      note() {},
    };
    const { a, b } = await createPair(t, kind, { channel: { maxInFlight: 2 }, b: { api } });
    const calls = [0, 1, 2, 3].map(() => outcome(a.call('never', [])));
    // Behind the waiting calls, in order: it waits too.
    const held = outcome(a.notify('note', []));
    await started.reach(2, 5000, 'two calls started');
    t.is(a.channel.waiting, 3, 'two calls and a notify wait for a place');
    a.channel.peerDied(new WorkerDiedError({ worker: 'b', reason: 'crash' }));
    b.destroy(new Error('the peer is gone'));
    const settled = await withDeadline(Promise.all([...calls, held]), 5000, 'the calls and the notify fail');
    t.deepEqual(
      settled.map((o) => (o.ok ? 'resolved' : (o.error as WorkerDiedError).mayHaveRun)),
      [true, true, false, false, false],
      'mayHaveRun per call and for the notify, in the order they were made',
    );
    for (const o of settled) t.like(o.ok ? {} : o.error, { code: 'ERR_CONVOY_WORKER_DIED', reason: 'crash' });
    const notify = settled[4]!;
    t.regex(notify.ok ? '' : (notify.error as Error).message, /when `note` was called: the call was not sent/);
  });

  test(`${kind}: maxInFlight holds further calls (and the notifies behind them) until replies free a place`, async (t) => {
    const gate = deferred();
    const started = new Counter();
    const order: string[] = [];
    const api = {
      async slow(n: number) {
        order.push(`call ${n}`);
        started.add();
        await gate.promise;
        return n;
      },
      note(n: number) {
        order.push(`note ${n}`);
      },
    };
    const { a } = await createPair(t, kind, { channel: { maxInFlight: 3 }, b: { api } });
    const calls = [0, 1, 2, 3, 4].map((n) => a.call('slow', [n]));
    const noteAccepted = a.notify('note', [5]);
    await started.reach(3, 5000, 'three calls started');
    t.is(a.channel.inFlight, 3);
    t.is(a.channel.waiting, 3, 'two calls and the notify behind them wait');
    t.true(await isPending(noteAccepted));
    // Nothing more reaches the callee while the calls are held (a few turns of I/O make no difference).
    for (let i = 0; i < 5; i++) await nextTurn();
    t.deepEqual(order, ['call 0', 'call 1', 'call 2']);
    gate.resolve();
    t.deepEqual(await withDeadline(Promise.all(calls), 5000, 'calls'), [0, 1, 2, 3, 4]);
    await noteAccepted;
    t.deepEqual(order, ['call 0', 'call 1', 'call 2', 'call 3', 'call 4', 'note 5']);
  });

  test(`${kind}: a single message larger than maxQueuedBytes goes when the channel is empty; the next waits for its ack`, async (t) => {
    const r = receiver();
    const { a } = await createPair(t, kind, { channel: { maxQueuedBytes: 1024 }, b: { api: r.api } });
    const big = 'B'.repeat(10_000);
    const first = a.notify('note', [0, big]);
    t.false(await isPending(first), 'accepted at once into an empty channel');
    const second = a.notify('note', [1, big]);
    t.is(a.channel.waiting, 1);
    await withDeadline(second, 5000, 'second accepted after the ack');
    await r.count.reach(2, 5000, 'both handled');
    t.deepEqual(r.seen, [0, 1]);
  });

  test(`${kind}: backpressure 'reject' fails the message that does not fit, and only it`, async (t) => {
    const r = receiver();
    const { a } = await createPair(t, kind, { channel: { maxQueuedBytes: 1000, backpressure: 'reject' }, b: { api: r.api } });
    const results = await Promise.all(Array.from({ length: 20 }, (_, seq) => outcome(a.notify('note', [seq, 'r'.repeat(100)]))));
    const ok = results.flatMap((res, seq) => (res.ok ? [seq] : []));
    const failed = results.filter((res) => !res.ok);
    t.true(ok.length > 0 && failed.length > 0);
    for (const res of failed) {
      t.true(!res.ok && res.error instanceof ChannelFullError);
      t.is(!res.ok && (res.error as ChannelFullError).code, 'ERR_CONVOY_BACKPRESSURE');
    }
    const call = await outcome(a.call('call', [99, 'r'.repeat(100)]));
    t.true(!call.ok && call.error instanceof ChannelFullError, 'a call is refused as well');
    await r.count.reach(ok.length, 5000, 'accepted notifies handled');
    t.deepEqual(r.seen, ok);
    t.is(a.channel.waiting, 0, 'reject mode never queues a waiter');
    t.false(a.closed);
  });

  test(`${kind}: backpressure 'reject' with maxInFlight refuses a call beyond the limit`, async (t) => {
    const gate = deferred();
    const api = { slow: () => gate.promise.then(() => 'done') };
    const { a } = await createPair(t, kind, { channel: { maxInFlight: 2, backpressure: 'reject' }, b: { api } });
    const held = [a.call('slow', []), a.call('slow', [])];
    await t.throwsAsync(a.call('slow', []), { instanceOf: ChannelFullError });
    gate.resolve();
    t.deepEqual(await withDeadline(Promise.all(held), 5000, 'held calls'), ['done', 'done']);
    t.is(await a.call('slow', []), 'done');
  });
}

test('a call freed from its wait by the very frame that ends the channel never left: mayHaveRun false', async (t) => {
  // The frame's first message (a reply) frees the waiting call's place, and it moves into the queue; its
  // second (a reply to a call never made) ends the channel before that queue is flushed. The freed call is
  // past its wait, yet it did not leave, and must say so.
  const [transportA, peer] = await createTransportPair(t, 'memory');
  const closeError = (cause: Error | undefined) => new WorkerDiedError({ worker: 'b', reason: 'disconnected' }, { cause });
  const a = new Endpoint(new Channel(transportA, { maxInFlight: 1, closeError }), { peerName: 'b' });
  t.teardown(() => a.destroy(new Error('test teardown')));
  const decoder = new Decoder();
  const callsSeen: number[] = [];
  const firstArrived = deferred();
  peer.start({
    frame(data) {
      decoder.decodeEach(frameBytes(data), (message, index) => {
        if (index > 0 && (message as unknown[])[0] === Kind.Call) callsSeen.push((message as number[])[1]!);
        return true;
      });
      firstArrived.resolve();
    },
    close() {},
    drain() {},
    progress() {},
  });
  const first = outcome(a.call('m', [1]));
  const second = outcome(a.call('m', [2]));
  await withDeadline(firstArrived.promise, 5000, 'the first call arrives');
  t.is(a.channel.waiting, 1, 'the second call waits for a place');

  // One frame, cut as a channel cuts it.
  const encoder = new Encoder();
  const outbox = new Outbox();
  outbox.push(encoder.encode([Kind.Reply, 1, 'one']), 0);
  outbox.push(encoder.encode([Kind.Reply, 99, 'forged']), 0);
  peer.send(outbox.take(0, 1 << 20).frame);

  const [one, two] = await withDeadline(Promise.all([first, second]), 5000, 'both calls settle');
  t.deepEqual(one, { ok: true, value: 'one' });
  t.like(two.ok ? {} : two.error, { code: 'ERR_CONVOY_WORKER_DIED', reason: 'disconnected', mayHaveRun: false });
  t.deepEqual(callsSeen, [1], 'only the first call ever left');
});
