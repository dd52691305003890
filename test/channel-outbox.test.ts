/**
 * The outbox (src/channel/outbox.ts): small messages are copied into an arena as they are queued, or
 * written there in place by the encoder (the outbox is its TupleTarget), large ones keep their own bytes,
 * and frames are cut from the head in order. Whatever the mix, the frames carry every message exactly
 * once, byte-exact and in order, each frame's header sums its messages' costs, and the transfer lists
 * follow their messages.
 */
import assert from 'node:assert/strict';
import test from 'ava';
import fc from 'fast-check';
import { headerLength, parseFrame, writeHeader } from '../src/channel/frame.js';
import { ARENA_MESSAGE_BYTES, Outbox } from '../src/channel/outbox.js';
import { Decoder, Encoder } from '../src/protocol/codec.js';
import { Kind, type Message } from '../src/protocol/messages.js';

const decoder = new Decoder();

interface Queued {
  message: Message;
  cost: number;
  transfer: ArrayBuffer[] | undefined;
}

/** A notify whose payload makes it `size` bytes or so: below, around and above the arena limit. */
function notifyOf(seq: number, size: number): Message {
  return [Kind.Notify, 'm', [seq, 'x'.repeat(size)]];
}

/**
 * A notify the encoder's fast path takes but that may need more room than the arena keeps for it: a long
 * method name and arguments of up to 255 code units of up to 3 UTF-8 bytes each.
 */
function wideNotifyOf(seq: number, size: number): Message {
  const text = (n: number): string => '€é'.repeat(Math.ceil(n / 2)).slice(0, n);
  return [Kind.Notify, text(size % 256), [seq, text(255), text((size * 7) % 256), text(255)]];
}

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('push' as const),
      size: fc.oneof(
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: ARENA_MESSAGE_BYTES - 16, max: ARENA_MESSAGE_BYTES + 16 }),
        fc.integer({ min: 20_000, max: 70_000 }),
      ),
      cost: fc.integer({ min: 0, max: 5000 }),
      kept: fc.boolean(),
      transfers: fc.boolean(),
      fast: fc.boolean(),
      wide: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('take' as const), maxBatchBytes: fc.integer({ min: 1, max: 100_000 }) }) },
);

type Step =
  | {
      kind: 'push';
      size: number;
      cost: number;
      /** Queued as its own bytes (`keep()`, as a message that waited for room is). */
      kept: boolean;
      transfers: boolean;
      /** Encoded by `encodeMessage` (written in place when the fast path takes it), not msgpackr's `encodeScratch`. */
      fast?: boolean;
      /** A wideNotifyOf message rather than notifyOf. */
      wide?: boolean;
    }
  | { kind: 'take'; maxBatchBytes: number };

/** Runs `steps` on a fresh outbox, drains it, and throws unless the frames carried exactly what was queued. */
function check(steps: readonly Step[]): void {
  const outbox = new Outbox();
  const encoder = new Encoder(outbox);
  const queued: Queued[] = [];
  const got: Message[] = [];
  const gotTransfers: ArrayBuffer[] = [];
  let gotCost = 0;
  const takeOne = (maxBatchBytes: number): void => {
    const before = outbox.length;
    const { frame, messages, transfer } = outbox.take(7, maxBatchBytes);
    const parsed = parseFrame(decoder, frame);
    assert.equal(parsed.messages.length, messages, 'the frame holds the messages it says');
    assert.equal(parsed.acked, 7);
    if (before > 0) assert.ok(messages > 0, 'a non-empty outbox gives a non-empty frame');
    if (messages > 1) assert.ok(frame.byteLength <= maxBatchBytes + 32, `frame of ${frame.byteLength} bytes over ${maxBatchBytes}`);
    got.push(...parsed.messages);
    gotCost += parsed.dataCost;
    gotTransfers.push(...(transfer ?? []));
  };
  let seq = 0;
  for (const s of steps) {
    if (s.kind === 'take') {
      takeOne(s.maxBatchBytes);
      continue;
    }
    const message = s.wide ? wideNotifyOf(seq++, s.size) : notifyOf(seq++, s.size);
    const transfer = s.transfers ? [new ArrayBuffer(1)] : undefined;
    if (s.fast) encoder.encodeMessage(message);
    else encoder.encodeScratch(message);
    if (s.kept) outbox.push(encoder.keep(), s.cost, transfer);
    else outbox.pushEncoded(encoder, s.cost, transfer);
    queued.push({ message, cost: s.cost, transfer });
  }
  while (outbox.length > 0) takeOne(64 * 1024);
  assert.equal(outbox.bytes, 0, 'no bytes left queued');
  assert.deepStrictEqual(
    got,
    queued.map((q) => q.message),
  );
  assert.equal(
    gotCost,
    queued.reduce((sum, q) => sum + q.cost, 0),
    'the headers sum the costs',
  );
  // The same buffers, not copies, in their messages' order.
  const expected = queued.flatMap((q) => q.transfer ?? []);
  assert.equal(gotTransfers.length, expected.length);
  for (const [i, buffer] of gotTransfers.entries()) assert.ok(buffer === expected[i], `transfer ${i} follows its message`);
}

test('any mix of small, large and kept messages and cuts: every message once, byte-exact, in order, with its cost and transfers', (t) => {
  t.notThrows(() => fc.assert(fc.property(fc.array(step, { minLength: 1, maxLength: 120 }), check), { numRuns: 150 }));
});

test('a long backlog drained in small frames (the queue compacts as its head moves) loses and reorders nothing', (t) => {
  const steps: Step[] = [];
  for (let i = 0; i < 5000; i++) {
    const size = i % 97 === 0 ? 30_000 : i % 50;
    steps.push({ kind: 'push', size, cost: i % 3, kept: i % 7 === 0, transfers: i % 11 === 0, fast: i % 2 === 0, wide: i % 13 === 0 });
    if (i % 400 === 399) steps.push({ kind: 'take', maxBatchBytes: 2000 });
  }
  for (let i = 0; i < 2000; i++) steps.push({ kind: 'take', maxBatchBytes: 300 });
  t.notThrows(() => check(steps));
});

test('a queue that never empties keeps an arena sized by what it holds, not by what has passed through it', (t) => {
  const outbox = new Outbox();
  const encoder = new Encoder(outbox);
  const sizes: number[] = [];
  let sent = 0;
  let received = 0;
  let largest = 0;
  const queue = (count: number): void => {
    for (let i = 0; i < count; i++) {
      sizes.push(encoder.encodeMessage(notifyOf(sent++, 200)));
      outbox.pushEncoded(encoder, 1);
    }
  };
  // A backlog of 100 messages (~21 kB) that never empties, as behind a slow peer: each round queues 20
  // and takes 20 (a frame cut to their size), while 12 MB pass through.
  queue(100);
  for (let round = 0; round < 3000; round++) {
    queue(20);
    const batch = sizes.splice(0, 20).reduce((sum, size) => sum + size, 0);
    const { frame, messages } = outbox.take(0, batch);
    t.is(messages, 20);
    for (const message of parseFrame(decoder, frame).messages) t.is((message as [number, string, [number]])[2][0], received++);
    t.is(outbox.length, 100);
    largest = Math.max(largest, outbox.arenaBytes);
  }
  t.true(largest <= 128 * 1024, `the arena reached ${largest} bytes holding ${outbox.bytes}`);
});

test('an emptied outbox gives a header-only frame; a steady trickle of batches leaves nothing queued', (t) => {
  const encoder = new Encoder();
  const outbox = new Outbox();
  const empty = outbox.take(3, 1024);
  t.is(empty.messages, 0);
  t.like(parseFrame(decoder, empty.frame), { acked: 3, dataCost: 0, messages: [] });
  for (let round = 0; round < 1000; round++) {
    for (let i = 0; i < 10; i++) {
      encoder.encodeScratch(notifyOf(i, 100));
      outbox.pushEncoded(encoder, 1);
    }
    const { frame, messages } = outbox.take(0, 1 << 20);
    t.is(messages, 10);
    if (round === 999) t.is(parseFrame(decoder, frame).messages.length, 10);
  }
  t.is(outbox.length, 0);
  t.is(outbox.bytes, 0);
});

test('the hand-written frame header is ordinary MessagePack: every count decodes back, at every size boundary', (t) => {
  const counts = [0, 1, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 3, Number.MAX_SAFE_INTEGER];
  const decoder = new Decoder();
  for (const acked of counts) {
    for (const cost of [0, 300, 2 ** 32 + 1]) {
      const frame = new Uint8Array(headerLength(acked, cost));
      writeHeader(frame, 0, acked, cost);
      t.deepEqual(decoder.decode(frame), [acked, cost], `[${acked}, ${cost}]`);
    }
  }
});
