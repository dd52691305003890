/**
 * The shared-memory ring alone (src/transport/shm-ring.ts): what is written is read back whole, in order,
 * whatever the record sizes, wherever in the ring they start or wrap (the end of the record area, and the
 * free-running indices' wrap at 2^32), with reader and writer in one thread or in two. Room is exact: a
 * record fits if and only if the bytes it needs are free. A record is visible only once published.
 */
import { once } from 'node:events';
import { MessageChannel, Worker } from 'node:worker_threads';
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { ProtocolError } from '../src/errors.js';
import { RECORD_HEADER_BYTES, RingReader, RingWriter, createRingBuffer, positionRing, recordBytes } from '../src/transport/shm-ring.js';
import { withDeadline } from './helpers/deadline.js';
import { failOnLeaks } from './helpers/leaks.js';
import { fixture } from './helpers/repo.js';

failOnLeaks(test);

/** Record k's payload: the same rule as the thread-side fixture (test/fixtures/ring-peer.mjs). */
function payload(k: number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (k * 31 + i) & 0xff;
  return bytes;
}

/** A ring of `capacity` bytes whose indices start at `start`. */
function ringAt(capacity: number, start: number): { writer: RingWriter; reader: RingReader; buffer: SharedArrayBuffer } {
  const buffer = createRingBuffer(capacity);
  positionRing(buffer, start);
  return { writer: new RingWriter(buffer), reader: new RingReader(buffer), buffer };
}

/** Reads one record and checks it is record `k` of `length` bytes. */
function expectRecord(t: ExecutionContext, reader: RingReader, k: number, length: number): void {
  const header = reader.peek();
  t.truthy(header, `record ${k} is there`);
  if (!header) return;
  t.is(header.seq, k, `record ${k}: sequence`);
  t.is(header.length, length, `record ${k}: length`);
  t.deepEqual(reader.take(), payload(k, length), `record ${k}: bytes`);
}

const CAPACITIES = [1024, 2048, 4096] as const;
/** A start for the free-running indices: anywhere (8-aligned), near 2^32 often enough to cross it. */
const arbStart = fc.oneof(
  fc.integer({ min: 0, max: 2 ** 29 - 1 }).map((x) => x * 8),
  fc.integer({ min: 1, max: 2048 }).map((x) => 2 ** 32 - x * 8),
);

test('the model: random writes and reads in one thread — room is exact, records come back whole and in order', (t) => {
  type Op = { write: number } | { read: number };
  const arbOp = (max: number): fc.Arbitrary<Op> =>
    fc.oneof(
      { weight: 3, arbitrary: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: max })).map((write) => ({ write })) },
      { weight: 2, arbitrary: fc.integer({ min: 1, max: 4 }).map((read) => ({ read })) },
    );
  fc.assert(
    fc.property(
      fc
        .constantFrom(...CAPACITIES)
        .chain((capacity) =>
          fc.tuple(fc.constant(capacity), arbStart, fc.array(arbOp(capacity - RECORD_HEADER_BYTES), { maxLength: 300 })),
        ),
      ([capacity, start, ops]) => {
        const { writer, reader } = ringAt(capacity, start);
        const queued: { k: number; length: number }[] = [];
        let used = 0;
        let next = 0;
        for (const op of ops) {
          if ('write' in op) {
            const fits = used + recordBytes(op.write) <= capacity;
            if (writer.tryWrite(payload(next, op.write), next) !== fits) return false;
            if (fits) {
              queued.push({ k: next++, length: op.write });
              used += recordBytes(op.write);
            }
          } else {
            for (let i = 0; i < op.read; i++) {
              const expected = queued.shift();
              const header = reader.peek();
              if (!expected) {
                if (header !== undefined) return false;
                break;
              }
              if (!header || header.seq !== expected.k || header.length !== expected.length) return false;
              const bytes = reader.take();
              if (!Buffer.from(bytes).equals(Buffer.from(payload(expected.k, expected.length)))) return false;
              used -= recordBytes(expected.length);
            }
          }
        }
        return true;
      },
    ),
    { numRuns: 300 },
  );
  t.pass();
});

test('wrap-around at every offset: a record starting at each 8-byte position of the ring, of sizes that wrap or just fit', (t) => {
  const capacity = 1024;
  const lengths = [0, 1, 7, 8, 9, 100, capacity / 2 + 3, capacity - RECORD_HEADER_BYTES - 8, capacity - RECORD_HEADER_BYTES];
  for (let offset = 0; offset < capacity; offset += 8) {
    for (const length of lengths) {
      const { writer, reader } = ringAt(capacity, offset);
      t.true(writer.tryWrite(payload(offset, length), offset), `${length} bytes at ${offset}`);
      expectRecord(t, reader, offset, length);
      t.is(reader.peek(), undefined);
    }
  }
});

test('records that exactly fill the ring: the largest fits an empty ring and nothing more; small ones fill it to the last byte', (t) => {
  const capacity = 1024;
  const { writer, reader } = ringAt(capacity, 8 * 37);
  t.is(writer.maxRecordBytes, capacity - RECORD_HEADER_BYTES);
  t.true(writer.tryWrite(payload(0, writer.maxRecordBytes), 0));
  t.false(writer.tryWrite(payload(1, 0), 1), 'not even an empty record fits a full ring');
  expectRecord(t, reader, 0, writer.maxRecordBytes);
  t.false(writer.tryWrite(payload(1, writer.maxRecordBytes + 1), 1), 'a record larger than the ring never fits');
  // 64 records of 8 payload bytes take 16 bytes each: exactly 1024.
  for (let k = 1; k <= 64; k++) t.true(writer.tryWrite(payload(k, 8), k), `record ${k}`);
  t.false(writer.tryWrite(payload(65, 0), 65));
  for (let k = 1; k <= 64; k++) expectRecord(t, reader, k, 8);
  t.is(reader.peek(), undefined);
});

test('a record written but not published is invisible: a writer that dies mid-record leaves nothing to read', (t) => {
  const { writer, reader, buffer } = ringAt(1024, 0);
  t.true(writer.tryWrite(payload(0, 10), 0));
  // What a dying writer leaves: the next record's header and payload, with `head` never moved past them.
  // Record 0 takes recordBytes(10) = 24 bytes; the torn one starts right after it.
  const words = new Uint32Array(buffer, 512);
  words[6] = 900;
  words[7] = 1;
  new Uint8Array(buffer, 512 + 32, 100).fill(0xee);
  expectRecord(t, reader, 0, 10);
  t.false(reader.ready);
  t.is(reader.peek(), undefined, 'the torn record is not read');
  // A live writer's next record takes the same place and reads back whole.
  t.true(writer.tryWrite(payload(1, 3), 1));
  expectRecord(t, reader, 1, 3);
});

test('a header that claims more than was published is a ProtocolError, not a read past the end', (t) => {
  const { writer, reader, buffer } = ringAt(1024, 0);
  t.true(writer.tryWrite(payload(0, 10), 0));
  new Uint32Array(buffer, 512)[0] = 500;
  t.throws(() => reader.peek(), { instanceOf: ProtocolError, code: 'ERR_CONVOY_PROTOCOL' });
});

test('sleeping: a reader sleeps only on an empty ring, and a writer is told to wake it once per sleep', (t) => {
  const { writer, reader } = ringAt(1024, 0);
  t.false(writer.takeReaderAsleep(), 'an awake reader needs no wake');
  t.true(reader.sleep(), 'asleep on an empty ring');
  t.true(writer.tryWrite(payload(0, 4), 0));
  t.true(writer.takeReaderAsleep(), 'the first record after the sleep needs a wake');
  t.true(writer.tryWrite(payload(1, 4), 1));
  t.false(writer.takeReaderAsleep(), 'one wake per sleep');
  t.false(reader.sleep(), 'a reader with records waiting stays awake');
  t.true(writer.tryWrite(payload(2, 4), 2));
  t.false(writer.takeReaderAsleep());
  for (let k = 0; k < 3; k++) expectRecord(t, reader, k, 4);
  t.true(reader.sleep());
  reader.awake();
  t.true(writer.tryWrite(payload(3, 4), 3));
  t.false(writer.takeReaderAsleep(), 'a reader that woke by itself needs no wake');
});

test('unread: what a writer published stays unread until the reader frees it, a record being delivered too', (t) => {
  const { writer, reader } = ringAt(1024, 1000);
  t.false(writer.unread, 'an empty ring');
  t.true(writer.tryWrite(payload(0, 4), 0));
  t.true(writer.tryWrite(payload(1, 300), 1));
  t.true(writer.unread, 'published, not read');
  t.deepEqual(reader.peek(), { length: 4, seq: 0 });
  reader.read();
  t.true(writer.unread, 'read in place but not freed: still being delivered');
  reader.release();
  t.true(writer.unread, 'one record of two freed');
  expectRecord(t, reader, 1, 300);
  t.false(writer.unread, 'every record freed, the last one across the wrap');
});

test('room: a writer waiting for room is told once, when the reader frees some; room that came first needs no notice', (t) => {
  const { writer, reader } = ringAt(1024, 0);
  const length = 1024 / 4 - RECORD_HEADER_BYTES;
  for (let k = 0; k < 4; k++) t.true(writer.tryWrite(payload(k, length), k));
  t.false(writer.tryWrite(payload(4, length), 4));
  t.false(writer.awaitRoom(length), 'no room yet: wait for word');
  expectRecord(t, reader, 0, length);
  t.true(reader.takeWriterWaits(), 'the reader freed room: the writer is told');
  t.false(reader.takeWriterWaits(), 'once');
  t.true(writer.tryWrite(payload(4, length), 4));
  expectRecord(t, reader, 1, length);
  t.true(writer.awaitRoom(length), 'the room is already there');
  t.false(reader.takeWriterWaits(), 'a writer that found room waits for nothing');
  // Told only once enough is free: with a quarter free, a writer asking for half is not told yet.
  t.true(writer.tryWrite(payload(5, length), 5));
  t.false(writer.awaitRoom(length));
  expectRecord(t, reader, 2, length);
  t.false(reader.takeWriterWaits(512), 'a quarter free');
  expectRecord(t, reader, 3, length);
  t.true(reader.takeWriterWaits(512), 'half free');
  t.false(reader.takeWriterWaits(0), 'once');
});

/** A thread running test/fixtures/ring-peer.mjs, terminated in teardown. */
async function ringPeer(
  t: ExecutionContext,
): Promise<(role: 'write' | 'read', buffer: SharedArrayBuffer, lengths: number[]) => Promise<void>> {
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(fixture('ring-peer.mjs'), { workerData: { port: port2 }, transferList: [port2] });
  t.teardown(async () => {
    port1.close();
    await worker.terminate();
  });
  const [ready] = await withDeadline(once(port1, 'message'), 20_000, 'ring peer ready');
  t.is(ready, 'ready');
  return async (role, buffer, lengths) => {
    port1.postMessage({ role, buffer, lengths });
    const [result] = (await withDeadline(once(port1, 'message'), 30_000, `ring peer ${role}s`)) as [{ ok: boolean; message?: string }];
    if (!result.ok) throw new Error(`ring peer (${role}): ${result.message}`);
  };
}

/** Runs this thread's side of a two-thread exchange, yielding now and then so the peer's report can arrive. */
async function runHere(role: 'write' | 'read', buffer: SharedArrayBuffer, lengths: number[]): Promise<void> {
  const end = performance.now() + 30_000;
  const writer = role === 'write' ? new RingWriter(buffer) : undefined;
  const reader = role === 'read' ? new RingReader(buffer) : undefined;
  for (let k = 0; k < lengths.length; k++) {
    let spins = 0;
    for (;;) {
      if (writer ? writer.tryWrite(payload(k, lengths[k]!), k) : reader!.peek()) break;
      if (performance.now() > end) throw new Error(`record ${k}: the peer never made progress`);
      if (++spins % 10_000 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    if (reader) {
      const header = reader.peek()!;
      if (header.seq !== k || header.length !== lengths[k]) throw new Error(`record ${k}: header ${header.seq}/${header.length}`);
      if (!Buffer.from(reader.take()).equals(Buffer.from(payload(k, lengths[k]!)))) throw new Error(`record ${k}: bytes differ`);
    }
  }
}

for (const here of ['read', 'write'] as const) {
  test(`two threads, this one ${here === 'read' ? 'reading' : 'writing'}: every record arrives whole and in order, never torn or reordered`, async (t) => {
    const peer = await ringPeer(t);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...CAPACITIES),
        arbStart,
        fc.array(fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 1016 })), { minLength: 1, maxLength: 2000 }),
        async (capacity, start, lengths) => {
          const buffer = createRingBuffer(capacity);
          positionRing(buffer, start);
          await Promise.all([peer(here === 'read' ? 'write' : 'read', buffer, lengths), runHere(here, buffer, lengths)]);
        },
      ),
      { numRuns: 25 },
    );
    t.pass();
  });
}

test('capacity: a power of two from 1 KiB to 1 GiB, or a RangeError naming the value', (t) => {
  for (const bad of [0, 1000, 512, 3 << 10, 2 ** 31, Number.NaN]) {
    t.throws(() => createRingBuffer(bad), { instanceOf: RangeError, message: new RegExp(String(bad)) });
  }
  t.is(createRingBuffer(1024).byteLength, 1024 + 512);
});
