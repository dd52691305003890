/**
 * Runs (src/channel/outbox.ts, openRun): replies to consecutive calls, calls to one method with
 * consecutive ids and notifies to one method, queued one after another, cross as one message each run
 * (`[Reply, id, v, v, ...]`, `[Call, id, method, args, args, ...]`, `[Notify, method, args, args, ...]`):
 * the receiver takes call runs apart, settles each reply of a run, and hands a notify run to the responder
 * whole, or in spans where a time slice ends inside it. Whatever joins or not, the receiver gets every
 * message once, in order, as if each had crossed alone; the window is charged and credited as it would be for each alone;
 * and a run never grows past 15 elements or past a batch.
 */
import assert from 'node:assert/strict';
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { Channel, type ChannelConfig } from '../src/channel/channel.js';
import { MessageSizes, parseFrame } from '../src/channel/frame.js';
import { Outbox } from '../src/channel/outbox.js';
import { MESSAGE_OVERHEAD_BYTES } from '../src/channel/send-window.js';
import { ProtocolError } from '../src/errors.js';
import { Decoder, Encoder } from '../src/protocol/codec.js';
import { Kind, type Message } from '../src/protocol/messages.js';
import { Endpoint, type EndpointConfig } from '../src/rpc/endpoint.js';
import { createMemoryTransportPair } from '../src/transport/memory.js';
import { Counter, deferred } from './helpers/deadline.js';
import { failOnLeaks } from './helpers/leaks.js';
import { RecordingTransport } from './helpers/recording-transport.js';

failOnLeaks(test);

const decoder = new Decoder();

/**
 * A value the tuple writer takes (so it may join a run), or one it leaves to msgpackr (so it cannot). Not
 * -0: the codec writes it as the integer 0, run or not.
 */
const element = fc.oneof(
  fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }),
  fc.double().map((x) => (Object.is(x, -0) ? 0 : x)),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.string({ maxLength: 300 }),
  fc.constant({ not: 'a primitive' }),
);

type Op =
  | { kind: 'reply'; skip: boolean; value: unknown }
  | { kind: 'call' | 'notify'; method: 'a' | 'b'; skip: boolean; args: unknown[]; waited: boolean }
  | { kind: 'cancel' }
  | { kind: 'take'; maxBatchBytes: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('reply' as const), skip: fc.boolean(), value: element }) },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constantFrom('call' as const, 'notify' as const),
      method: fc.constantFrom('a' as const, 'b' as const),
      skip: fc.boolean(),
      args: fc.array(element, { maxLength: 16 }),
      waited: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancel' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('take' as const), maxBatchBytes: fc.integer({ min: 1, max: 4096 }) }) },
);

/**
 * Queues `ops` as Channel does (join the open run if the message can, else queue it alone and open a run
 * on it), cutting frames now and then, and checks what the frames carry: the same messages, in order, each
 * call and notify with a size, the sizes of the messages of a run adding up to its cost less the
 * per-message overheads, and no run past 15 elements or `maxRunBytes`.
 */
function check(ops: readonly Op[], maxRunBytes: number): void {
  const outbox = new Outbox();
  const encoder = new Encoder(outbox);
  const sent: Message[] = [];
  const got: Message[] = [];
  let sentCost = 0;
  let gotCost = 0;
  let sizesOfData = 0;
  let dataMessages = 0;
  let replyId = 0;
  const callIds = { a: 0, b: 0 } as Record<string, number>;
  let nextCallId = 0;
  const takeOne = (maxBatchBytes: number): void => {
    const { frame, messages, joined } = outbox.take(0, maxBatchBytes);
    for (const value of decoder.decodeAll(frame).slice(1)) {
      const message = value as unknown[];
      assert.ok(message.length <= 15, 'a run holds at most 15 elements');
      if (message.length > 4 || (message[0] === Kind.Reply && message.length > 3)) {
        assert.ok(encoder.encode(message).byteLength <= maxRunBytes, `a run of ${encoder.encode(message).byteLength} bytes`);
      }
    }
    const sizes = new MessageSizes();
    const parsed = parseFrame(decoder, frame, undefined, sizes);
    assert.equal(parsed.count, messages + joined, 'the frame carries what the outbox says');
    for (const [i, message] of parsed.messages.entries()) {
      if (message[0] === Kind.Call) dataMessages++;
      if (message[0] === Kind.Notify) dataMessages += message.length - 2;
      if (message[0] <= Kind.Notify) sizesOfData += sizes.get(i);
    }
    // Reply and notify runs stay one message: the endpoint settles each reply, the channel hands the notifies over.
    for (const message of parsed.messages) {
      if (message[0] === Kind.Reply) for (let i = 2; i < message.length; i++) got.push([Kind.Reply, message[1] + i - 2, message[i]]);
      else if (message[0] === Kind.Notify)
        for (let i = 2; i < message.length; i++) got.push([Kind.Notify, message[1], message[i] as unknown[]]);
      else got.push(message);
    }
    gotCost += parsed.dataCost;
  };
  for (const o of ops) {
    if (o.kind === 'take') {
      takeOne(o.maxBatchBytes);
      continue;
    }
    if (o.kind === 'cancel') {
      const message: Message = [Kind.Cancel, 1];
      encoder.encodeMessage(message);
      outbox.pushEncoded(encoder, 0);
      sent.push(message);
      continue;
    }
    if (o.kind === 'reply') {
      replyId += o.skip ? 2 : 1;
      const message: Message = [Kind.Reply, replyId, o.value];
      sent.push(message);
      if (outbox.appendReply(replyId, o.value, maxRunBytes)) continue;
      encoder.encodeMessage(message);
      outbox.pushEncoded(encoder, 0);
      outbox.openRun(replyId);
      continue;
    }
    const isCall = o.kind === 'call';
    if (!isCall && o.waited) {
      // A notify that waited for room, as Channel#acceptIntoRun queues it: its kept bytes join the open
      // run, or start one from the arena.
      const message: Message = [Kind.Notify, o.method, o.args];
      sent.push(message);
      const size = encoder.encodeMessage(message);
      const fast = encoder.tookFastPath;
      const bytes = encoder.keep();
      const cost = (n: number): number => n + MESSAGE_OVERHEAD_BYTES;
      const joinedSize = fast ? outbox.joinRunBytes(o.method, bytes, maxRunBytes) : -1;
      if (joinedSize >= 0) {
        outbox.commitAppend(joinedSize, cost(joinedSize));
        sentCost += cost(joinedSize);
      } else if (fast) {
        outbox.pushTuple(bytes, cost(size));
        outbox.openRun(-1, o.method);
        sentCost += cost(size);
      } else {
        outbox.push(bytes, cost(size));
        sentCost += cost(size);
      }
      continue;
    }
    const id = isCall ? (nextCallId += o.skip ? 2 : 1) : -1;
    callIds[o.method] = id;
    const message: Message = isCall ? [Kind.Call, id, o.method, o.args] : [Kind.Notify, o.method, o.args];
    sent.push(message);
    const joinedSize = outbox.writeRunArguments(o.method, id, o.args, maxRunBytes);
    if (joinedSize >= 0) {
      const cost = joinedSize + MESSAGE_OVERHEAD_BYTES;
      outbox.commitAppend(joinedSize, cost);
      sentCost += cost;
      continue;
    }
    const size = encoder.encodeMessage(message);
    const cost = size + MESSAGE_OVERHEAD_BYTES;
    outbox.pushEncoded(encoder, cost);
    sentCost += cost;
    outbox.openRun(id, o.method);
  }
  while (outbox.length > 0) takeOne(64 * 1024);
  assert.deepStrictEqual(got, sent);
  assert.equal(gotCost, sentCost, 'the headers sum the costs, runs included');
  assert.equal(sizesOfData + dataMessages * MESSAGE_OVERHEAD_BYTES, sentCost, 'the sizes of the messages of runs add up to what they cost');
}

test('any mix of replies, calls and notifies that join runs or not, and cuts: every message once, in order, costs and sizes intact', (t) => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 120 }), fc.constantFrom(16, 64, 1024, 64 * 1024), (ops, maxRunBytes) => check(ops, maxRunBytes)),
    { numRuns: 300 },
  );
  t.pass();
});

test('notifies that waited for room join runs from their kept bytes, whatever the length of their method name', (t) => {
  // Method names whose string headers take 1, 2 and 3 bytes (fixstr, str 8, str 16).
  for (const method of ['m', 'x'.repeat(40), '€'.repeat(100)]) {
    const outbox = new Outbox();
    const encoder = new Encoder(outbox);
    const kept = (args: unknown[]): Uint8Array => {
      encoder.encodeMessage([Kind.Notify, method, args]);
      t.true(encoder.tookFastPath);
      return encoder.keep();
    };
    outbox.pushTuple(kept([0, 'zero']), 0);
    outbox.openRun(-1, method);
    for (const args of [[1], [], ['two', null, undefined, 2.5]]) {
      const size = outbox.joinRunBytes(method, kept(args), 64 * 1024);
      t.true(size > 0, `${method.length}: joined`);
      outbox.commitAppend(size, 0);
    }
    t.is(outbox.joinRunBytes('other', kept([3]), 64 * 1024), -1, 'another method does not join');
    const { frame, messages, joined } = outbox.take(0, 64 * 1024);
    t.is(messages, 1);
    t.is(joined, 3);
    t.deepEqual(decoder.decodeAll(frame).slice(1), [[Kind.Notify, method, [0, 'zero'], [1], [], ['two', null, undefined, 2.5]]]);
  }
});

test('a run ends at 15 elements: 40 replies to consecutive calls cross as runs of 13, 13, 13 and 1', (t) => {
  const outbox = new Outbox();
  const encoder = new Encoder(outbox);
  for (let id = 1; id <= 40; id++) {
    if (outbox.appendReply(id, id * 10, 64 * 1024)) continue;
    encoder.encodeMessage([Kind.Reply, id, id * 10]);
    outbox.pushEncoded(encoder, 0);
    outbox.openRun(id);
  }
  const { frame, messages, joined } = outbox.take(0, 64 * 1024);
  t.is(messages, 4);
  t.is(joined, 36);
  const wire = decoder.decodeAll(frame).slice(1) as unknown[][];
  t.deepEqual(
    wire.map((m) => m.length - 2),
    [13, 13, 13, 1],
  );
  t.deepEqual(wire[1], [Kind.Reply, 14, ...Array.from({ length: 13 }, (_, i) => (14 + i) * 10)]);
});

test('a message queued behind a run closes it: the next reply starts a run of its own', (t) => {
  const outbox = new Outbox();
  const encoder = new Encoder(outbox);
  encoder.encodeMessage([Kind.Reply, 1, 'one']);
  outbox.pushEncoded(encoder, 0);
  outbox.openRun(1);
  t.true(outbox.appendReply(2, 'two', 1024));
  encoder.encodeMessage([Kind.Cancel, 9]);
  outbox.pushEncoded(encoder, 0);
  t.false(outbox.appendReply(3, 'three', 1024), 'behind the cancel');
  t.is(outbox.writeRunArguments('m', -1, [1], 1024), -1, 'not a notify run');
  const { frame } = outbox.take(0, 1024);
  t.deepEqual(decoder.decodeAll(frame).slice(1), [
    [Kind.Reply, 1, 'one', 'two'],
    [Kind.Cancel, 9],
  ]);
});

test('a run taken by a flush is closed: what follows starts a new message', (t) => {
  const outbox = new Outbox();
  const encoder = new Encoder(outbox);
  encoder.encodeMessage([Kind.Notify, 'm', [1]]);
  outbox.pushEncoded(encoder, 1024);
  outbox.openRun(-1, 'm');
  outbox.take(0, 1024);
  t.is(outbox.writeRunArguments('m', -1, [2], 1024), -1);
});

test('parseFrame takes call runs apart with a share of the run size each, keeps notify and reply runs whole, and counts what runs carry', (t) => {
  const encoder = new Encoder();
  const header = encoder.encode([0, 0]);
  const runs: unknown[][] = [
    [Kind.Call, 5, 'inc', [1], [2], ['three']],
    [Kind.Notify, 'log', ['a'], [], ['b', 2]],
    [Kind.Reply, 9, 'x', 'y'],
  ];
  const bodies = runs.map((m) => encoder.encode(m));
  const frame = Buffer.concat([header, ...bodies]);
  const sizes = new MessageSizes();
  const parsed = parseFrame(decoder, frame, undefined, sizes);
  t.deepEqual(parsed.messages, [
    [Kind.Call, 5, 'inc', [1]],
    [Kind.Call, 6, 'inc', [2]],
    [Kind.Call, 7, 'inc', ['three']],
    [Kind.Notify, 'log', ['a'], [], ['b', 2]],
    [Kind.Reply, 9, 'x', 'y'],
  ]);
  t.is(parsed.count, 8);
  t.is(sizes.get(0) + sizes.get(1) + sizes.get(2), bodies[0]!.byteLength);
  t.is(sizes.get(3), bodies[1]!.byteLength);
});

/** An endpoint `a` calling `b`, both channels' frames recorded: `a`'s in `toB`, `b`'s in `toA`. */
function pair(t: ExecutionContext, api: object | undefined, config: ChannelConfig = {}, serving: EndpointConfig = {}) {
  const [ta, tb] = createMemoryTransportPair();
  const toB = new RecordingTransport(ta);
  const toA = new RecordingTransport(tb);
  const a = new Endpoint(new Channel(toB, config));
  const b = new Endpoint(new Channel(toA, config), { ...(api && { api }), ...serving });
  t.teardown(() => {
    a.destroy(new Error('teardown'));
    b.destroy(new Error('teardown'));
  });
  /** The messages in `frames` as they crossed, runs whole. */
  const wire = (frames: Uint8Array[]): unknown[][] => frames.flatMap((f) => decoder.decodeAll(f).slice(1) as unknown[][]);
  return { a, b, toA, toB, wire };
}

test('pipelined calls to a synchronous handler cross as runs both ways, and each settles with its own result', async (t) => {
  const results: unknown[] = [1, -7, 2.5, 'two', '', true, false, null, undefined, 'é€', 2 ** 32, -(2 ** 40), { an: 'object' }];
  const { a, toA, toB, wire } = pair(t, { echo: (i: number) => results[i % results.length] });
  const calls = Array.from({ length: 200 }, (_, i) => a.call('echo', [i]));
  t.deepEqual(
    await Promise.all(calls),
    Array.from({ length: 200 }, (_, i) => results[i % results.length]),
  );
  const callRuns = wire(toB.frames).filter((m) => m[0] === Kind.Call && m.length > 4);
  const replyRuns = wire(toA.frames).filter((m) => m[0] === Kind.Reply && m.length > 3);
  t.true(callRuns.length > 0, 'calls crossed in runs');
  t.true(replyRuns.length > 0, 'replies crossed in runs');
  t.true(
    replyRuns.every((m) => m.slice(2).every((v) => typeof v !== 'object' || v === null)),
    'an object result, which the tuple writer leaves to msgpackr, joins no run',
  );
  t.is(a.channel.stats.messagesSent, 200, 'the stats count each call, runs or not');
  t.is(a.channel.stats.messagesReceived, 200, 'and each reply');
});

test('notifies and calls to two methods, interleaved: each handler sees its messages in the order they were sent', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          method: fc.constantFrom('a', 'b'),
          call: fc.boolean(),
          arg: fc.oneof(fc.integer(), fc.string({ maxLength: 8 }), fc.constant({ o: 1 })),
        }),
        {
          minLength: 1,
          maxLength: 80,
        },
      ),
      async (sends) => {
        const seen: unknown[] = [];
        const handled = new Counter();
        const record = (method: string) => (seq: number, arg: unknown) => {
          seen.push([method, seq, arg]);
          handled.add();
          return seq;
        };
        const [ta, tb] = createMemoryTransportPair();
        const a = new Endpoint(new Channel(ta));
        const b = new Endpoint(new Channel(tb), { api: { a: record('a'), b: record('b') } });
        try {
          const calls: Promise<unknown>[] = [];
          for (const [seq, s] of sends.entries()) {
            if (s.call) calls.push(a.call(s.method, [seq, s.arg]).then((r) => assert.equal(r, seq)));
            else a.notify(s.method, [seq, s.arg]);
          }
          await Promise.all(calls);
          await handled.reach(sends.length, 5000, 'messages handled');
          assert.deepStrictEqual(
            seen,
            sends.map((s, seq) => [s.method, seq, s.arg]),
          );
        } finally {
          a.destroy(new Error('done'));
          b.destroy(new Error('done'));
        }
      },
    ),
    { numRuns: 60 },
  );
  t.pass();
});

test('a notify run costs the window what its notifies would alone: credited in full once handled, a held one holding its own share only', async (t) => {
  const release = deferred();
  let started = 0;
  const handled = new Counter();
  const { a, toB, wire } = pair(t, {
    note(seq: number) {
      handled.add();
      // The sixth notify holds its acknowledgement until released.
      if (seq === 5) {
        started++;
        return release.promise;
      }
    },
  });
  for (let seq = 0; seq < 12; seq++) a.notify('note', [seq]);
  await handled.reach(12, 5000, 'notifies handled');
  t.is(started, 1);
  t.true(
    wire(toB.frames).some((m) => m[0] === Kind.Notify && m.length > 3),
    'the notifies crossed in a run',
  );
  // Everything acked but the held notify's share: its bytes and its overhead, no more. Its share of the run
  // is less than it would cost alone, and far less than the run.
  const alone = new Encoder().encode([Kind.Notify, 'note', [5]]).byteLength;
  await waitFor(() => a.channel.windowBytes < MESSAGE_OVERHEAD_BYTES + alone, 5000, 'the unheld notifies acked');
  t.true(a.channel.windowBytes > MESSAGE_OVERHEAD_BYTES, `held ${a.channel.windowBytes}`);
  release.resolve();
  await waitFor(() => a.channel.windowBytes === 0, 5000, 'the held notify acked');
  t.pass();
});

test('a sender that outruns its receiver: notifies that wait for room still cross in runs, in order, and the window drains', async (t) => {
  const seen: number[] = [];
  const handled = new Counter();
  const { a, toB, wire } = pair(
    t,
    {
      note(seq: number) {
        seen.push(seq);
        handled.add();
      },
    },
    // Room for ~8 notifies at a time: nearly all of a burst of 2000 waits.
    { maxQueuedBytes: 8 * 1024 },
  );
  let last: Promise<void> | undefined;
  for (let seq = 0; seq < 2000; seq++) last = a.notify('note', [seq]);
  await last;
  await handled.reach(2000, 10_000, 'notifies handled');
  t.deepEqual(
    seen,
    Array.from({ length: 2000 }, (_, i) => i),
  );
  t.true(a.channel.stats.waits > 1500, `${a.channel.stats.waits} waited`);
  const runs = wire(toB.frames).filter((m) => m[0] === Kind.Notify && m.length > 3);
  const inRuns = runs.reduce((n, m) => n + m.length - 2, 0);
  t.true(inRuns > 1500, `${inRuns} of 2000 crossed in runs`);
  await waitFor(() => a.channel.windowBytes === 0, 5000, 'the window drained');
});

test('runs never grow past maxBatchBytes: with 48-byte batches, 100 calls still all settle, in order', async (t) => {
  const seen: number[] = [];
  const { a, toB, wire } = pair(t, { note: (seq: number) => seen.push(seq) }, { maxBatchBytes: 48 });
  await Promise.all(Array.from({ length: 100 }, (_, i) => a.call('note', [i])));
  t.deepEqual(
    seen,
    Array.from({ length: 100 }, (_, i) => i),
  );
  for (const message of wire(toB.frames)) t.true(new Encoder().encode(message).byteLength <= 48);
});

test('a run of replies that reaches past the calls made ends the channel with a ProtocolError, after settling those it answers', async (t) => {
  const [ta, tb] = createMemoryTransportPair();
  const a = new Endpoint(new Channel(ta));
  t.teardown(() => a.destroy(new Error('teardown')));
  tb.start({ frame: () => {}, close: () => {}, drain: () => {}, progress: () => {} });
  const closed = new Promise<Error>((resolve) => a.onClose(resolve));
  const first = a.call('inc', [1]);
  // The peer, forged: a run of replies to call 1, which was made, and to call 2, which was not.
  const encoder = new Encoder();
  tb.send(Buffer.concat([encoder.encode([0, 0]), encoder.encode([Kind.Reply, 1, 'x', 'y'])]));
  t.is(await first, 'x');
  const error = await closed;
  t.true(error instanceof ProtocolError, String(error));
  t.regex(error.message, /unknown call id 2/);
});

async function waitFor(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

test('validate: runs are messages; a run with a non-array element or ids past the safe integers is refused', (t) => {
  const bad: unknown[][] = [
    [Kind.Call, 1, 'm', [1], 2],
    [Kind.Notify, 'm', [1], 'x'],
    [Kind.Call, Number.MAX_SAFE_INTEGER, 'm', [1], [2]],
    [Kind.Reply, Number.MAX_SAFE_INTEGER, 1, 2],
  ];
  const frame = (m: unknown[]) => Buffer.concat([new Encoder().encode([0, 0]), new Encoder().encode(m)]);
  for (const message of bad) t.throws(() => parseFrame(decoder, frame(message)), { instanceOf: ProtocolError }, JSON.stringify(message));
  // The last id of a run may be the largest safe integer.
  t.is(parseFrame(decoder, frame([Kind.Call, Number.MAX_SAFE_INTEGER - 1, 'm', [1], [2]])).messages.length, 2);
  t.is(parseFrame(decoder, frame([Kind.Call, Number.MAX_SAFE_INTEGER, 'm', [1]])).messages.length, 1);
  t.is(parseFrame(decoder, frame([Kind.Reply, Number.MAX_SAFE_INTEGER - 1, 1, 2])).count, 2);
});

/** Whether a notify run of `length` notifies or more crossed in `messages`. */
const crossedInRun = (messages: unknown[][], length: number): boolean =>
  messages.some((m) => m[0] === Kind.Notify && m.length - 2 >= length);

test('serial mode: the notifies of a run each finish before the next starts, and each holds its own share of the window until it has', async (t) => {
  const gates = Array.from({ length: 10 }, () => deferred());
  const started: number[] = [];
  const note = (seq: number): Promise<void> => {
    started.push(seq);
    return gates[seq]!.promise;
  };
  const { a, toB, wire } = pair(t, { note }, {}, { serial: true });
  for (let seq = 0; seq < 10; seq++) void a.notify('note', [seq]);
  await waitFor(() => started.length === 1, 5000, 'the first notify');
  // The first leaves at once, alone; the nine behind it cross as one run.
  t.true(crossedInRun(wire(toB.frames), 9), 'the notifies crossed in a run');
  for (let seq = 0; seq < 10; seq++) {
    t.deepEqual(
      started,
      Array.from({ length: seq + 1 }, (_, i) => i),
      'one at a time, in order',
    );
    // The ones not yet finished hold their share and overhead each; the finished ones are acknowledged.
    await waitFor(() => a.channel.windowBytes < (10 - seq + 1) * MESSAGE_OVERHEAD_BYTES, 5000, `acks up to ${seq}`);
    t.true(
      a.channel.windowBytes >= (10 - seq) * MESSAGE_OVERHEAD_BYTES,
      `held ${a.channel.windowBytes} with ${10 - seq} running or queued`,
    );
    gates[seq]!.resolve();
    if (seq < 9) await waitFor(() => started.length === seq + 2, 5000, `notify ${seq + 1}`);
  }
  await waitFor(() => a.channel.windowBytes === 0, 5000, 'all acknowledged');
  t.pass();
});

test('a notify run that arrives before the handlers exist waits for them, in order with the calls around it', async (t) => {
  const seen: string[] = [];
  const { a, b, toB, wire } = pair(t, undefined, {}, { awaitApi: true });
  const first = a.call('add', [100]);
  for (let seq = 0; seq < 6; seq++) void a.notify('add', [seq]);
  const last = a.call('add', [200]);
  await waitFor(() => b.channel.stats.messagesReceived >= 8, 5000, 'all eight received');
  t.true(crossedInRun(wire(toB.frames), 6), 'the notifies crossed in one run');
  t.deepEqual(seen, []);
  // Until the handlers exist, the notifies hold their acknowledgement: the sender cannot pile up work.
  t.true(a.channel.windowBytes >= 6 * MESSAGE_OVERHEAD_BYTES, `held ${a.channel.windowBytes}`);
  b.serve({
    add(x: number) {
      seen.push(`add ${x}`);
      return x;
    },
  });
  t.deepEqual(await Promise.all([first, last]), [100, 200]);
  t.deepEqual(seen, ['add 100', 'add 0', 'add 1', 'add 2', 'add 3', 'add 4', 'add 5', 'add 200']);
  await waitFor(() => a.channel.windowBytes === 0, 5000, 'all acknowledged');
});

test('a notify handler that ends the channel in the middle of a run: the notifies behind it in the run are not served', async (t) => {
  const seen: number[] = [];
  let b: Endpoint | undefined;
  const api = {
    note(seq: number) {
      seen.push(seq);
      if (seq === 4) b!.destroy(new Error('ended by a handler'));
    },
  };
  const made = pair(t, api);
  b = made.b;
  for (let seq = 0; seq < 10; seq++) void made.a.notify('note', [seq]).catch(() => {});
  await waitFor(() => made.b.closed, 5000, 'the handler ended the channel');
  t.true(crossedInRun(made.wire(made.toB.frames), 9), 'notifies 1 to 9 crossed in one run');
  t.deepEqual(seen, [0, 1, 2, 3, 4]);
});
