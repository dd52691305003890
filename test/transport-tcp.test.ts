/**
 * Hostile and broken input on TCP (docs/semantics.md §11): malformed, truncated or oversized frames close
 * that one connection with ProtocolError; the process and every other connection keep working.
 */
import type net from 'node:net';
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { Channel, type ChannelConfig } from '../src/channel/channel.js';
import { ProtocolError, WorkerDiedError } from '../src/errors.js';
import { Encoder } from '../src/protocol/codec.js';
import { frameHeader } from '../src/protocol/framing.js';
import { Kind } from '../src/protocol/messages.js';
import { Endpoint } from '../src/rpc/endpoint.js';
import { TcpTransport } from '../src/transport/tcp.js';
import { deferred, nextEvent, withDeadline } from './helpers/deadline.js';
import { connectSocketsViaProxy, dial, endpointClosed, frameBytes, listen, portOf, prng } from './helpers/pairs.js';
import { failOnLeaks } from './helpers/leaks.js';

failOnLeaks(test);

const MAX_FRAME_BYTES = 1024;

interface Server {
  port: number;
  /** Server-side endpoints, in accept order. */
  accepted: Endpoint[];
  nextAccepted(): Promise<Endpoint>;
}

/** A listener that serves `api` on every connection, the way a worker serves its peers. */
async function serve(t: ExecutionContext, channel: ChannelConfig = {}): Promise<Server> {
  const accepted: Endpoint[] = [];
  let waiter = deferred<Endpoint>();
  const api = { echo: (x: unknown) => x, add: (a: number, b: number) => a + b };
  const server = await listen(t, (socket) => {
    const endpoint = new Endpoint(new Channel(new TcpTransport(socket, { maxFrameBytes: MAX_FRAME_BYTES }), channel), { api });
    t.teardown(() => endpoint.destroy(new Error('teardown')));
    accepted.push(endpoint);
    waiter.resolve(endpoint);
  });
  return {
    port: portOf(server),
    accepted,
    nextAccepted: async () => {
      const endpoint = await withDeadline(waiter.promise, 5000, 'accept');
      waiter = deferred();
      return endpoint;
    },
  };
}

async function goodClient(t: ExecutionContext, server: Server): Promise<{ client: Endpoint; served: Endpoint }> {
  const socket = await dial(t, server.port);
  const client = new Endpoint(new Channel(new TcpTransport(socket, { maxFrameBytes: MAX_FRAME_BYTES })));
  t.teardown(() => client.destroy(new Error('teardown')));
  return { client, served: await server.nextAccepted() };
}

const encoder = new Encoder();
/** A frame as the channel writes it: the `[acked, dataBytes]` header, then messages. */
function frameOf(...values: unknown[]): Buffer {
  const payload = Buffer.concat(values.map((v) => encoder.encode(v)));
  return Buffer.concat([frameHeader(payload.length), payload]);
}
const rawFrame = (payload: number[]): Buffer => Buffer.concat([frameHeader(payload.length), Buffer.from(payload)]);
const HEADER = [0, 0];

/** Each case writes bytes on a raw socket; `end` half-closes it afterwards. */
const HOSTILE: ReadonlyArray<{ name: string; bytes: () => Buffer; end?: boolean }> = [
  { name: 'an oversized frame length', bytes: () => frameHeader(MAX_FRAME_BYTES + 1) },
  { name: 'a 4 GiB frame length', bytes: () => frameHeader(0xffff_ffff) },
  { name: 'an undecodable payload', bytes: () => rawFrame([0x92, 0x01]) },
  { name: 'a zero-length frame', bytes: () => rawFrame([]) },
  { name: 'a payload that is not a frame header', bytes: () => frameOf('hello') },
  { name: 'a header with a negative ack', bytes: () => frameOf([-1, 0]) },
  { name: 'a valid header and an unknown message kind', bytes: () => frameOf(HEADER, [99, 1]) },
  { name: 'a valid header and a non-array message', bytes: () => frameOf(HEADER, { kind: Kind.Call }) },
  { name: 'a call with a string id', bytes: () => frameOf(HEADER, [Kind.Call, 'x', 'echo', []]) },
  { name: 'a reply to an unknown call id', bytes: () => frameOf(HEADER, [Kind.Reply, 12_345, 'v']) },
  { name: 'a fault for an unknown call id', bytes: () => frameOf(HEADER, [Kind.Fault, 7, { name: 'Error', message: 'x' }]) },
  // errorFromWire once threw a TypeError on this (uncaught: the process died).
  {
    name: 'a fault whose cause is not an error object',
    bytes: () => frameOf(HEADER, [Kind.Fault, 1, { name: 'Error', message: 'x', cause: 5 }]),
  },
  {
    name: 'a frame truncated by the end of the connection',
    bytes: () => frameOf(HEADER, [Kind.Notify, 'echo', ['x'.repeat(50)]]).subarray(0, 20),
    end: true,
  },
  // Its length read and none of its body: nothing is buffered, and it was taken for a clean close.
  { name: 'a connection ended right after a frame length', bytes: () => frameHeader(10), end: true },
];

const isProtocolFailure = (error: unknown): boolean =>
  error instanceof ProtocolError || (error instanceof Error && error.cause instanceof ProtocolError);

for (const { name, bytes, end } of HOSTILE) {
  test(`${name}: ProtocolError, that connection closed, other connections keep working`, async (t) => {
    const server = await serve(t);
    const good = await goodClient(t, server);
    t.is(await good.client.call('add', [1, 2]), 3);

    const raw = await dial(t, server.port);
    const hostile = await server.nextAccepted();
    const closedWith = endpointClosed(hostile);
    const rawClosed = nextEvent(raw, 'close', 5000, 'hostile socket close');
    raw.on('error', () => {}); // the server may reset the connection
    raw.write(bytes());
    if (end) raw.end();

    const error = await closedWith;
    t.true(isProtocolFailure(error), `closed with ${String(error)}`);
    await rawClosed;
    t.true(hostile.closed);

    // The good connection, and a new one, are unaffected.
    t.false(good.served.closed);
    t.is(await withDeadline(good.client.call('add', [2, 3]), 5000, 'call on the good connection'), 5);
    const late = await goodClient(t, server);
    t.deepEqual(await withDeadline(late.client.call('echo', [{ ok: [1n] }]), 5000, 'call on a new connection'), { ok: [1n] });
  });
}

test('a custom closeError wraps the ProtocolError as its cause', async (t) => {
  const server = await serve(t, {
    closeError: (cause) => new WorkerDiedError({ worker: 'peer', reason: 'disconnected' }, { cause }),
  });
  const raw = await dial(t, server.port);
  const hostile = await server.nextAccepted();
  const closedWith = endpointClosed(hostile);
  raw.on('error', () => {});
  raw.write(frameOf(HEADER, [42]));
  const error = await closedWith;
  t.true(error instanceof WorkerDiedError);
  t.true((error as WorkerDiedError).cause instanceof ProtocolError);
});

test('calls pending on a connection that turns hostile reject with the protocol failure', async (t) => {
  // The server side calls the hostile peer, then the peer sends garbage: the server's call must fail.
  const server = await serve(t);
  const raw: net.Socket = await dial(t, server.port);
  raw.on('error', () => {});
  const served = await server.nextAccepted();
  const pending = served.call('anything', []);
  raw.write(rawFrame([0xc1]));
  const error = await withDeadline(
    pending.then(
      () => undefined,
      (e: unknown) => e,
    ),
    5000,
    'pending call',
  );
  t.true(isProtocolFailure(error), String(error));
  await t.throwsAsync(served.call('later', []), { instanceOf: ProtocolError });
});

test('frames through a proxy that re-chunks bytes at random arrive byte-exact and in order, sent bare or with headroom (fast-check)', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.integer(), fc.array(fc.integer({ min: 0, max: 5000 }), { minLength: 1, maxLength: 30 }), async (seed, sizes) => {
      const { client, server } = await connectSocketsViaProxy(t, prng(seed), 300);
      const a = new TcpTransport(client, { maxFrameBytes: 1 << 20 });
      const b = new TcpTransport(server, { maxFrameBytes: 1 << 20 });
      const got: Buffer[] = [];
      const all = deferred();
      a.start({ frame() {}, close() {}, drain() {} });
      b.start({
        frame(bytes) {
          got.push(Buffer.from(frameBytes(bytes)));
          if (got.length === sizes.length) all.resolve();
        },
        close() {},
        drain() {},
      });
      // Sizes on both sides of the one-write limit (4 KiB); every other frame a view at an offset in a larger buffer.
      const sent = sizes.map((size, i) => (i % 2 ? Buffer.alloc(size + 7, i).subarray(5, 5 + size) : Buffer.alloc(size, i)));
      // Every third frame goes as the channel sends it, behind junk where the prefix is to be written: in a
      // Buffer, or in a plain Uint8Array (the channel's larger frames).
      sent.forEach((bytes, i) => {
        if (i % 3 !== 2) {
          a.send(bytes);
          return;
        }
        const buffer = i % 2 ? Buffer.allocUnsafe(a.headroomBytes + bytes.length) : new Uint8Array(a.headroomBytes + bytes.length);
        buffer.fill(0xff, 0, a.headroomBytes);
        buffer.set(bytes, a.headroomBytes);
        a.sendWithHeadroom(buffer);
      });
      try {
        await withDeadline(all.promise, 5000, `${sizes.length} frames`);
        return got.length === sent.length && got.every((g, i) => g.equals(sent[i]!));
      } finally {
        a.destroy();
        b.destroy();
      }
    }),
    { numRuns: 25 },
  );
  t.pass();
});
