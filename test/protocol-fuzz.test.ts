/**
 * Fuzzing the receive path: random and mutated bytes fed to the FrameDecoder, to the codec and
 * validator, and to a real Channel + Endpoint over a fake transport that hands them over as raw frames.
 * Only ProtocolError ever comes out — thrown by the pure layers, or as the cause of the channel's
 * close — nothing throws out of the transport's frame callback, nothing is left unhandled, and a forged
 * length allocates nothing. Structurally valid but wrong messages not covered by protocol-validate and
 * transport-tcp (duplicate ids, huge arrays, forged element counts) close that connection only.
 */
import test from 'ava';
import fc from 'fast-check';
import { Channel } from '../src/channel/channel.js';
import { ProtocolError } from '../src/errors.js';
import { Decoder, Encoder } from '../src/protocol/codec.js';
import { FrameDecoder, MAX_FRAME_LIMIT, frameHeader } from '../src/protocol/framing.js';
import { Kind } from '../src/protocol/messages.js';
import { validateMessage } from '../src/protocol/validate.js';
import { Endpoint } from '../src/rpc/endpoint.js';
import { CloseOnce, type Transport, type TransportHandlers } from '../src/transport/transport.js';
import { nextTurn } from './helpers/deadline.js';

const encoder = new Encoder();

const isProtocolFailure = (error: unknown): boolean =>
  error instanceof ProtocolError || (error instanceof Error && error.cause instanceof ProtocolError);

// --- arbitraries -------------------------------------------------------------------------------

const id = fc.nat({ max: 2 ** 31 });
const method = fc.oneof(fc.constantFrom('echo', 'add', 'slow', 'toString', '\0stats'), fc.string({ maxLength: 8 }));
/**
 * A value as msgpackr carries it, by its known limits (see the README): -0 is encoded as the integer 0, and
 * an own key `__proto__` decodes as `__proto_` (so that decoding never sets a prototype). fast-check
 * generates both on purpose; the messages here are made of values the codec carries unchanged.
 */
function asTheCodecCarries(value: unknown): unknown {
  if (Object.is(value, -0)) return 0;
  if (Array.isArray(value)) return value.map(asTheCodecCarries);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key === '__proto__' ? '__proto_' : key, asTheCodecCarries(item)]),
    );
  }
  return value;
}

const value = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map(asTheCodecCarries),
  fc.bigInt(),
  fc.uint8Array({ maxLength: 16 }),
  fc.date({ noInvalidDate: true }),
  fc.constant(undefined),
);
const args = fc.array(value, { maxLength: 4 });
/** Every kind of message, well formed. */
const message = fc.oneof(
  fc.tuple(fc.constant(Kind.Call), id, method, args),
  fc.tuple(fc.constant(Kind.Notify), method, args),
  fc.tuple(fc.constant(Kind.Reply), id, value),
  fc.tuple(fc.constant(Kind.Fault), id, fc.record({ name: fc.string({ maxLength: 8 }), message: fc.string({ maxLength: 16 }) })),
  fc.tuple(fc.constantFrom(Kind.Cancel, Kind.Ping, Kind.Pong, Kind.Settled), id),
  fc.constant([Kind.Goodbye]),
  fc.tuple(
    fc.constant(Kind.Goodbye),
    fc.record(
      {
        exitCode: fc.integer({ min: 0, max: 255 }),
        crashed: fc.boolean(),
        error: fc.record({ name: fc.string({ maxLength: 8 }), message: fc.string({ maxLength: 16 }) }),
      },
      { requiredKeys: ['exitCode', 'crashed'] },
    ),
  ),
);
/** A frame as a channel writes it: the `[acked, dataBytes]` header, then messages. */
const validFrame = fc.tuple(fc.nat({ max: 1 << 20 }), fc.array(message, { minLength: 0, maxLength: 6 })).map(([acked, messages]) => {
  const body = messages.map((m) => encoder.encode(m));
  const dataBytes = body.reduce((sum, b, i) => sum + (messages[i]![0] <= Kind.Notify ? b.byteLength : 0), 0);
  return Buffer.concat([encoder.encode([acked, dataBytes]), ...body]);
});

type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; byte: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; length: number }
  | { op: 'truncate'; at: number }
  | { op: 'duplicate'; at: number; length: number };
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat({ max: 7 }) }),
  fc.record({
    op: fc.constant('set' as const),
    at: fc.nat(),
    byte: fc.constantFrom(0x00, 0x7f, 0x80, 0x90, 0xc1, 0xc4, 0xd4, 0xdc, 0xdd, 0xdf, 0xff),
  }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('duplicate' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) }),
);

function mutate(frame: Buffer, mutations: Mutation[]): Buffer {
  let bytes = Buffer.from(frame);
  for (const m of mutations) {
    const at = bytes.length === 0 ? 0 : m.at % bytes.length;
    switch (m.op) {
      case 'flip':
        if (bytes.length > 0) bytes[at] = bytes[at]! ^ (1 << m.bit);
        break;
      case 'set':
        if (bytes.length > 0) bytes[at] = m.byte;
        break;
      case 'insert':
        bytes = Buffer.concat([bytes.subarray(0, at), m.bytes, bytes.subarray(at)]);
        break;
      case 'delete':
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + m.length)]);
        break;
      case 'truncate':
        bytes = bytes.subarray(0, at);
        break;
      case 'duplicate':
        bytes = Buffer.concat([bytes.subarray(0, at + m.length), bytes.subarray(at)]);
        break;
    }
  }
  return bytes;
}

const mutatedFrame = fc.tuple(validFrame, fc.array(mutation, { minLength: 1, maxLength: 5 })).map(([frame, ms]) => mutate(frame, ms));
const randomFrame = fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b));
/** Hostile input: valid, mutated and random frames, mutated ones most often. */
const anyFrame = fc.oneof(
  { arbitrary: mutatedFrame, weight: 3 },
  { arbitrary: validFrame, weight: 3 },
  { arbitrary: randomFrame, weight: 1 },
);

// --- a channel fed raw frames --------------------------------------------------------------------

/** A transport whose received frames are whatever the test hands to `feed`; what the channel sends is kept. */
class FakeTransport implements Transport {
  readonly kind = 'fake';
  readonly label = 'fake';
  readonly transfers = false;
  readonly sent: Uint8Array[] = [];
  readonly #closeOnce = new CloseOnce();
  #handlers: TransportHandlers | undefined;

  get closed(): boolean {
    return this.#closeOnce.done;
  }

  send(frame: Uint8Array): boolean {
    if (this.closed) return false;
    this.sent.push(frame);
    return true;
  }

  start(handlers: TransportHandlers): void {
    this.#handlers = handlers;
    this.#closeOnce.attach(handlers);
  }

  close(): void {
    this.#closeOnce.report();
  }

  destroy(error?: Error): void {
    this.#closeOnce.report(error);
  }

  /** Delivers `bytes` as one received frame, as a real transport would. */
  feed(bytes: Uint8Array): void {
    if (!this.closed) this.#handlers!.frame(bytes);
  }

  /** Every message the channel sent, decoded (frame headers left out). */
  sentMessages(): unknown[][] {
    const decoder = new Decoder();
    return this.sent.flatMap((frame) => decoder.decodeAll(frame).slice(1) as unknown[][]);
  }
}

interface Served {
  transport: FakeTransport;
  endpoint: Endpoint;
  closedWith(): Error | undefined;
}

function serve(): Served {
  const transport = new FakeTransport();
  const api = {
    echo: (x: unknown) => x,
    add: (a: number, b: number) => a + b,
    slow: () => new Promise((resolve) => setImmediate(resolve)),
  };
  const endpoint = new Endpoint(new Channel(transport), { api, peerName: 'fuzzer', localName: 'served', onNotifyError: () => {} });
  let closed: Error | undefined;
  endpoint.onClose((error) => {
    closed = error;
  });
  return { transport, endpoint, closedWith: () => closed };
}

// --- the frame decoder -------------------------------------------------------------------------

test('FrameDecoder: random bytes in random chunks only ever throw ProtocolError, and never buffer past maxFrameBytes (fast-check)', (t) => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 3000 }),
      fc.array(fc.nat(), { maxLength: 20 }),
      fc.nat({ max: 600 }),
      (bytes, cuts, maxFrameBytes) => {
        const decoder = new FrameDecoder(maxFrameBytes);
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1))), bytes.length].sort((x, y) => x - y);
        let from = 0;
        for (const point of points) {
          let frames: Buffer[];
          try {
            frames = decoder.push(Buffer.from(bytes.subarray(from, point)));
          } catch (error) {
            return error instanceof ProtocolError;
          }
          from = point;
          if (frames.some((f) => f.length > maxFrameBytes)) return false;
          // What is held is a partial header (< 4 bytes) or part of one frame that fits the limit.
          if (decoder.buffered > Math.max(3, maxFrameBytes)) return false;
        }
        return true;
      },
    ),
    { numRuns: 1000 },
  );
  t.pass();
});

test('FrameDecoder: a forged 4 GiB length allocates nothing, even when the limit allows it', (t) => {
  const before = process.memoryUsage().arrayBuffers;
  const decoder = new FrameDecoder(MAX_FRAME_LIMIT);
  const body = Buffer.alloc(64 * 1024, 1);
  t.deepEqual(decoder.push(frameHeader(MAX_FRAME_LIMIT)), []);
  t.deepEqual(decoder.push(body), []);
  t.is(decoder.buffered, body.length, 'only the bytes that arrived are held');
  const grown = process.memoryUsage().arrayBuffers - before;
  t.true(grown < 4 << 20, `array buffers grew ${grown} bytes`);
  // With the default limit the header alone is refused.
  t.throws(() => new FrameDecoder(64 << 20).push(frameHeader(MAX_FRAME_LIMIT)), { instanceOf: ProtocolError });
});

// --- codec and validation ----------------------------------------------------------------------

test('Decoder + validateMessage: random and mutated frames only ever throw ProtocolError (fast-check)', (t) => {
  const decoder = new Decoder();
  fc.assert(
    fc.property(anyFrame, (frame) => {
      try {
        const values = decoder.decodeAll(frame);
        for (const v of values.slice(1)) validateMessage(v);
      } catch (error) {
        return error instanceof ProtocolError;
      }
      return true;
    }),
    { numRuns: 3000 },
  );
  t.pass();
});

test('valid frames decode to exactly the messages encoded, and every one validates (fast-check)', (t) => {
  const decoder = new Decoder();
  fc.assert(
    fc.property(fc.array(message, { maxLength: 6 }), (messages) => {
      const frame = Buffer.concat([encoder.encode([0, 0]), ...messages.map((m) => encoder.encode(m))]);
      const values = decoder.decodeAll(frame);
      t.deepEqual(
        values.slice(1).map((v) => validateMessage(v)),
        messages,
      );
    }),
    { numRuns: 500 },
  );
  t.pass();
});

// --- a real channel and endpoint ------------------------------------------------------------------

test('Channel + Endpoint fed random, mutated and valid frames: nothing throws, and a close is always a ProtocolError (fast-check)', async (t) => {
  let closes = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(anyFrame, { minLength: 1, maxLength: 4 }), async (frames) => {
      const served = serve();
      try {
        for (const frame of frames) served.transport.feed(frame);
        // Let handlers run, replies flush and acks go out.
        await nextTurn();
        const closed = served.closedWith();
        if (closed) {
          closes++;
          return isProtocolFailure(closed) && served.transport.closed;
        }
        // Still open: it must still serve. The probe's id must be above every id the fuzzed frames used
        // (ids only go up): mutated bytes can make any 32-bit id, but an id must be a safe integer, so
        // only an exact 2^53 - 1 in the fuzz could match this one.
        const probe = Number.MAX_SAFE_INTEGER;
        served.transport.feed(frameOf([Kind.Call, probe, 'add', [1, 2]]));
        await nextTurn();
        return served.transport.sentMessages().some((m) => m[0] === Kind.Reply && m[1] === probe && m[2] === 3);
      } finally {
        served.endpoint.destroy(new Error('end of run'));
      }
    }),
    { numRuns: 1500 },
  );
  t.log(`${closes} of 1500 runs closed their channel, each with a ProtocolError; the others still served a call`);
  t.true(closes > 0 && closes < 1500, 'the fuzzer reached both the error paths and the open ones');
});

test('a channel that refused hostile input fails its own pending calls with the ProtocolError, and later calls too', async (t) => {
  const served = serve();
  const pending = served.endpoint.call('anything', []);
  served.transport.feed(Buffer.from([0xc1]));
  const error = await pending.then(
    () => undefined,
    (e: unknown) => e,
  );
  t.true(isProtocolFailure(error), String(error));
  await t.throwsAsync(served.endpoint.call('later', []), { instanceOf: ProtocolError });
});

// --- structurally valid but wrong ----------------------------------------------------------------

function frameOf(...messages: unknown[]): Buffer {
  return Buffer.concat([encoder.encode([0, 0]), ...messages.map((m) => encoder.encode(m))]);
}

const WRONG: ReadonlyArray<{ name: string; bytes: () => Buffer }> = [
  {
    name: 'a message tuple of a million elements',
    bytes: () => frameOf([Kind.Call, 1, 'echo', [], ...new Array<number>(1_000_000).fill(0)]),
  },
  {
    name: 'an array claiming 2^32-1 elements (forged count, no elements)',
    bytes: () => Buffer.concat([encoder.encode([0, 0]), Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff])]),
  },
  {
    name: 'a map claiming 2^32-1 entries',
    bytes: () => Buffer.concat([encoder.encode([0, 0]), Buffer.from([0xdf, 0xff, 0xff, 0xff, 0xff, 0x00])]),
  },
  {
    name: 'a string claiming 4 GiB',
    bytes: () => Buffer.concat([encoder.encode([0, 0]), Buffer.from([0x94, 0x00, 0x01, 0xdb, 0xff, 0xff, 0xff, 0xff, 0x41])]),
  },
  {
    name: 'a header that is a huge array',
    bytes: () => Buffer.from(encoder.encode(new Array<number>(100_000).fill(0))),
  },
];

for (const { name, bytes } of WRONG) {
  test(`${name}: ProtocolError, that channel closed, at once`, (t) => {
    const served = serve();
    const started = performance.now();
    served.transport.feed(bytes());
    const elapsed = performance.now() - started;
    t.true(isProtocolFailure(served.closedWith()), `closed with ${String(served.closedWith())}`);
    t.true(served.transport.closed);
    t.true(elapsed < 2000, `refused in ${elapsed.toFixed(0)} ms`);
  });
}

test('a second reply to a call already answered: ProtocolError, and the first answer stands', async (t) => {
  const served = serve();
  const call = served.endpoint.call('remote', []);
  await nextTurn();
  t.deepEqual(served.transport.sentMessages(), [[Kind.Call, 1, 'remote', []]]);
  served.transport.feed(frameOf([Kind.Reply, 1, 'first']));
  t.is(await call, 'first');
  served.transport.feed(frameOf([Kind.Reply, 1, 'second']));
  t.true(isProtocolFailure(served.closedWith()), `closed with ${String(served.closedWith())}`);
});

test('a call with a million arguments fails alone (a fault for that id); the channel goes on', async (t) => {
  const served = serve();
  served.transport.feed(frameOf([Kind.Call, 1, 'add', new Array<number>(1_000_000).fill(1)], [Kind.Call, 2, 'add', [2, 3]]));
  await nextTurn();
  t.false(served.endpoint.closed);
  const sent = served.transport.sentMessages();
  const fault = sent.find((m) => m[0] === Kind.Fault && m[1] === 1) ?? sent.find((m) => m[0] === Kind.Reply && m[1] === 1);
  t.truthy(fault, 'call 1 was answered (a fault, or a result if the engine takes that many arguments)');
  t.deepEqual(
    sent.find((m) => m[0] === Kind.Reply && m[1] === 2),
    [Kind.Reply, 2, 5],
  );
});

/*
 * Regression: call ids are "one increasing counter per channel direction" (docs/architecture.md, Wire); the endpoint did
 * not check them, so a reused id ran twice and took over the first call's cancel. A repeated or smaller
 * id is now a ProtocolError on that connection.
 */
test('two calls with the same id in one frame: ProtocolError', async (t) => {
  const served = serve();
  served.transport.feed(frameOf([Kind.Call, 7, 'echo', ['a']], [Kind.Call, 7, 'echo', ['b']]));
  await nextTurn();
  t.true(isProtocolFailure(served.closedWith()), `closed with ${String(served.closedWith())}`);
});

test('a call reusing the id of an earlier, answered call: ProtocolError', async (t) => {
  const served = serve();
  served.transport.feed(frameOf([Kind.Call, 1, 'echo', ['a']]));
  await nextTurn();
  t.deepEqual(served.transport.sentMessages(), [[Kind.Reply, 1, 'a']]);
  served.transport.feed(frameOf([Kind.Call, 1, 'echo', ['again']]));
  await nextTurn();
  t.true(isProtocolFailure(served.closedWith()), `closed with ${String(served.closedWith())}`);
});

/*
 * Regression: one counter numbers a side's calls, but convoy's own calls skip flow control and can leave
 * before user calls made earlier that wait for room. The callee took the user call that came after for
 * a decreasing id and broke the channel (a cluster's flood of calls to a worker while a pair was being
 * opened). Ids increase within each kind; a repeat in either is still a ProtocolError.
 */
test("convoy's own call may arrive before user calls with smaller ids; each kind's ids must still increase", async (t) => {
  const served = serve();
  served.transport.feed(frameOf([Kind.Call, 1, 'echo', ['a']], [Kind.Call, 3, '\0stats', []], [Kind.Call, 2, 'echo', ['b']]));
  await nextTurn();
  t.is(served.closedWith(), undefined);
  t.deepEqual(
    served.transport.sentMessages().filter((m) => m[0] === Kind.Reply),
    [
      [Kind.Reply, 1, 'a'],
      [Kind.Reply, 2, 'b'],
    ],
  );
  served.transport.feed(frameOf([Kind.Call, 3, '\0stats', []]));
  await nextTurn();
  t.true(isProtocolFailure(served.closedWith()), `closed with ${String(served.closedWith())}`);
});

/*
 * Regression: the channel decoded a whole frame before validating its first message, and msgpack
 * amplifies (one byte 0x80 decodes to an empty object): 8 MiB of them took 1.7 GB and 23 s. Each value
 * is now validated as it is decoded and the frame is refused at the first bad one.
 */
test('a frame of 8 MiB of junk messages (each 0x80: {}) is refused without decoding all of it', (t) => {
  const served = serve();
  const junk = Buffer.concat([encoder.encode([0, 0]), Buffer.alloc(8 * 1024 * 1024, 0x80)]);
  const started = performance.now();
  served.transport.feed(junk);
  const elapsed = performance.now() - started;
  t.true(isProtocolFailure(served.closedWith()));
  t.log(`refused after ${elapsed.toFixed(1)} ms`);
  // Decoding it all took 23 s; the first message stops it in microseconds. The bound leaves room for a
  // loaded machine stalling this process (a second has been seen), not for decoding the frame.
  t.true(elapsed < 3000, `refused in ${elapsed.toFixed(0)} ms`);
});
