/**
 * The NATS transport's wire, without a server: headers round-trip, names map to subject tokens one to
 * one, sequence numbers wrap, and pieces reassemble into whole frames or are refused with ProtocolError.
 */
import test from 'ava';
import { ProtocolError } from '../src/errors.js';
import { PieceAssembler } from '../src/transport/nats-pieces.js';
import {
  TAG_BYTES,
  WireKind,
  decodeWire,
  encodeReset,
  encodeWire,
  nextSeq,
  resetReason,
  sign,
  subjectKey,
  subjectToken,
  transportSubject,
  verified,
} from '../src/transport/nats-wire.js';

const SECRET = new Uint8Array(32).fill(3);
const KEY = subjectKey(SECRET, 'convoy.c.w.b.a');

/** A message as its receiver reads it: signed by the sender, its tag checked and cut off. */
function received(message: Uint8Array): ReturnType<typeof decodeWire> {
  sign(KEY, message);
  const data = verified(KEY, message);
  if (!data) throw new Error('the tag did not check');
  return decodeWire(data);
}

test('every kind round-trips its header, and a body is copied in, never shared', (t) => {
  const body = new Uint8Array([1, 2, 3, 4, 5]);
  const first = encodeWire(WireKind.First, 0xfedcba98, 7, body, 1, 4, 99);
  body.fill(0);
  t.like(received(first), { kind: WireKind.First, stream: 0xfedcba98, seq: 7, total: 99 });
  t.deepEqual([...received(first).body], [2, 3, 4]);
  t.like(received(encodeWire(WireKind.Open, 5)), { kind: WireKind.Open, stream: 5, seq: 0, total: 0 });
  t.like(received(encodeWire(WireKind.Close, 5, 0xffffffff)), { kind: WireKind.Close, seq: 0xffffffff });
  t.throws(() => decodeWire(new Uint8Array([9, 0, 0, 0, 0])), { instanceOf: ProtocolError });
  t.throws(() => decodeWire(new Uint8Array([WireKind.Frame, 0, 0])), { instanceOf: ProtocolError });
});

test('a message checks only with its own subject’s key and unchanged; without the secret no tag checks', (t) => {
  const message = encodeWire(WireKind.Frame, 5, 1, new Uint8Array([0x92, 1, 2]));
  t.is(message.byteLength, 9 + 3 + TAG_BYTES, 'header, body, tag');
  const unsigned = message.slice();
  sign(KEY, message);
  t.deepEqual([...verified(KEY, message)!], [...message.subarray(0, message.byteLength - TAG_BYTES)]);
  t.is(verified(KEY, unsigned), undefined, 'unsigned');
  t.is(verified(subjectKey(SECRET, 'convoy.c.w.a.b'), message), undefined, 'copied to the other direction');
  t.is(verified(subjectKey(new Uint8Array(32).fill(4), 'convoy.c.w.b.a'), message), undefined, 'signed with another secret');
  for (const at of [0, 5, 10, message.byteLength - 1]) {
    const changed = message.slice();
    changed[at]! ^= 1;
    t.is(verified(KEY, changed), undefined, `byte ${at} changed`);
  }
  t.is(verified(KEY, message.subarray(0, TAG_BYTES)), undefined, 'a tag alone');
});

test('a reset carries its reason, cut short on a character boundary; one without a reason reads as empty', (t) => {
  const reset = received(encodeReset(9, 'a gap (message 7, expected 5)'));
  t.like(reset, { kind: WireKind.Reset, stream: 9 });
  t.is(resetReason(reset), 'a gap (message 7, expected 5)');
  // 'é' is two bytes: 240 bytes would split the 120th.
  const long = resetReason(received(encodeReset(9, `x${'é'.repeat(200)}`)));
  t.is(long, `x${'é'.repeat(119)}`);
  t.is(resetReason(received(encodeWire(WireKind.Reset, 9))), '', 'from a sender that gives no reason');
});

test('sequence numbers wrap past 2^32 - 1 to 1, never 0', (t) => {
  t.is(nextSeq(0), 1);
  t.is(nextSeq(0xffffffff), 1);
});

test('names become subject tokens one to one; what no name may hold is refused', (t) => {
  t.is(subjectToken('shard-0.2'), 'shard-0~2');
  t.not(subjectToken('a.b'), subjectToken('a-b'));
  t.is(transportSubject('c.x', 'to.1', 'from'), 'convoy.c~x.w.to~1.from');
  for (const bad of ['a b', 'a*', 'a>', '', 'a~b']) t.throws(() => subjectToken(bad), { instanceOf: TypeError }, bad);
});

const piece = (kind: WireKind, bytes: number[], total = 0) =>
  received(encodeWire(kind, 1, 1, new Uint8Array(bytes), 0, bytes.length, total));

test('pieces reassemble into the whole frame; a lone frame passes as it is', (t) => {
  const assembler = new PieceAssembler(100);
  t.deepEqual([...assembler.take(piece(WireKind.Frame, [9]))!], [9]);
  t.is(assembler.take(piece(WireKind.First, [1, 2], 5)), undefined);
  t.true(assembler.partial);
  t.is(assembler.take(piece(WireKind.More, [3, 4])), undefined);
  t.deepEqual([...assembler.take(piece(WireKind.More, [5]))!], [1, 2, 3, 4, 5]);
  t.false(assembler.partial);
});

test('what cannot be a well-formed sequence of pieces is a ProtocolError', (t) => {
  const cases: [string, ...ReturnType<typeof piece>[]][] = [
    ['a piece outside a frame', piece(WireKind.More, [1])],
    ['a frame inside a frame', piece(WireKind.First, [1], 3), piece(WireKind.Frame, [2])],
    ['a piece past the total', piece(WireKind.First, [1], 2), piece(WireKind.More, [2, 3])],
    ['a frame over maxFrameBytes', piece(WireKind.Frame, [1, 2, 3, 4, 5])],
    ['a first piece announcing over maxFrameBytes', piece(WireKind.First, [1], 1000)],
    ['a first piece as large as its frame', piece(WireKind.First, [1, 2], 2)],
  ];
  for (const [what, ...messages] of cases) {
    const assembler = new PieceAssembler(4);
    const last = messages.pop()!;
    for (const message of messages) assembler.take(message);
    t.throws(() => assembler.take(last), { instanceOf: ProtocolError }, what);
  }
});
