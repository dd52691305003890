/**
 * The coordinator's TCP listener under hostile clients: garbage, a hello with a wrong proof, a forged
 * huge frame length, a partial frame, a silent client. Each is dropped within about a second, and no
 * handler sees it; a client that knows the secret still gets through afterwards.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import { ControlListener } from '../src/cluster/listener.js';
import { Encoder } from '../src/protocol/codec.js';
import { frameHeader } from '../src/protocol/framing.js';
import { PROTOCOL_VERSION } from '../src/protocol/messages.js';
import { dialHandshake } from '../src/transport/tcp-handshake.js';
import type { TcpTransport } from '../src/transport/tcp.js';
import { settle, within } from './helpers/cluster.js';

const HANDSHAKE_TIMEOUT_MS = 1000;
/** A hostile client must be gone within this long of connecting (the handshake deadline, plus slack). */
const DROP_MS = HANDSHAKE_TIMEOUT_MS + 1000;

async function openListener(t: ExecutionContext, handshakeTimeoutMs = HANDSHAKE_TIMEOUT_MS) {
  const secret = randomBytes(32);
  const listener = await ControlListener.open('127.0.0.1', { secret, maxFrameBytes: 1 << 20, handshakeTimeoutMs });
  t.teardown(() => listener.close());
  // A handler waits for worker "w" incarnation 0; it must run only for a client that proves the secret.
  let handed: TcpTransport | undefined;
  const expected = listener.expect('w', 0).then((transport) => (handed = transport));
  t.teardown(() => handed?.close());
  return { secret, listener, expected, handedOver: () => handed !== undefined };
}

interface Client {
  socket: Socket;
  /** Everything the listener sent. */
  received: () => Buffer;
  /** Resolves with the time of 'close' (ms after connecting). */
  closed: Promise<number>;
}

async function client(t: ExecutionContext, port: number): Promise<Client> {
  // Timed from before the connect: the listener's deadline cannot start earlier, however late this side
  // hears of the connection on a loaded machine.
  const start = performance.now();
  const socket = connect({ host: '127.0.0.1', port });
  t.teardown(() => socket.destroy());
  socket.on('error', () => {});
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  await within(new Promise((resolve) => socket.once('connect', resolve)), 5000, 'connect');
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now() - start)));
  return { socket, received: () => Buffer.concat(chunks), closed };
}

async function dropped(t: ExecutionContext, c: Client, what: string): Promise<void> {
  const ms = await within(c.closed, DROP_MS, `${what}: the listener closing the connection`);
  t.log(`${what}: dropped after ${ms.toFixed(0)} ms`);
}

test('garbage bytes are dropped at once; the listener carries on', async (t) => {
  const l = await openListener(t);
  const c = await client(t, l.listener.port);
  // A small, plausible length followed by bytes that are not msgpack for a hello.
  c.socket.write(Buffer.concat([frameHeader(8), Buffer.from([0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1])]));
  await dropped(t, c, 'garbage');
  t.false(l.handedOver(), 'no handler ran');

  const random = await client(t, l.listener.port);
  random.socket.write(randomBytes(256));
  await dropped(t, random, 'random bytes');
  t.false(l.handedOver(), 'no handler ran');
});

test('a hello with a wrong proof (wrong secret) is dropped, and the dialer learns nothing', async (t) => {
  const l = await openListener(t);
  const c = await client(t, l.listener.port);
  const handshake = settle(
    dialHandshake(c.socket, { secret: randomBytes(32), from: 'w', to: 'coordinator', incarnation: 0, timeoutMs: 5000 }),
  );
  await dropped(t, c, 'wrong secret');
  // All the listener ever sent was its challenge: one frame, no welcome.
  const received = c.received();
  t.is(received.byteLength, 4 + received.readUInt32BE(0), 'only the challenge frame was sent');
  const result = await within(handshake, 5000, 'the dialer giving up');
  t.false(result.ok);
  if (!result.ok) t.like(result.error, { code: 'ERR_CONVOY_PROTOCOL' });
  t.false(l.handedOver(), 'no handler ran');
});

test('a hello with the right secret but an unexpected name or incarnation is dropped', async (t) => {
  const l = await openListener(t);
  for (const [from, incarnation] of [
    ['intruder', 0],
    ['w', 7],
  ] as const) {
    const c = await client(t, l.listener.port);
    void settle(dialHandshake(c.socket, { secret: l.secret, from, to: 'coordinator', incarnation, timeoutMs: 5000 }));
    await dropped(t, c, `${from}#${incarnation}`);
    t.false(l.handedOver(), `no handler ran for ${from}#${incarnation}`);
  }
});

test('a forged huge frame length is dropped without waiting for the body', async (t) => {
  // A long handshake deadline, so "refused on sight" and "timed out" are far apart even on a loaded machine.
  const deadlineMs = 20_000;
  const l = await openListener(t, deadlineMs);
  for (const length of [0xffff_ffff, 64 << 20, 4097]) {
    const c = await client(t, l.listener.port);
    c.socket.write(frameHeader(length));
    c.socket.write(Buffer.alloc(16, 0x90));
    const ms = await within(c.closed, deadlineMs / 2, `length ${length}: dropped before the handshake deadline`);
    t.log(`length ${length} refused after ${ms.toFixed(0)} ms`);
  }
  t.false(l.handedOver(), 'no handler ran');
});

test('a silent client, and one that stalls mid-frame, are dropped at the handshake deadline', async (t) => {
  const l = await openListener(t);
  const silent = await client(t, l.listener.port);
  const stalling = await client(t, l.listener.port);
  const hello = new Encoder().encode({ v: PROTOCOL_VERSION, from: 'w', to: 'coordinator', incarnation: 0 });
  stalling.socket.write(frameHeader(hello.byteLength + 100));
  stalling.socket.write(hello);
  const [silentMs, stallingMs] = await Promise.all([
    within(silent.closed, DROP_MS, 'silent client dropped'),
    within(stalling.closed, DROP_MS, 'stalling client dropped'),
  ]);
  t.true(silentMs >= HANDSHAKE_TIMEOUT_MS - 50, `not before the deadline (${silentMs.toFixed(0)} ms)`);
  t.true(stallingMs >= HANDSHAKE_TIMEOUT_MS - 50, `not before the deadline (${stallingMs.toFixed(0)} ms)`);
  // The silent client got the challenge, and nothing else.
  t.true(silent.received().byteLength > 4, 'the listener sent its challenge');
  t.false(l.handedOver(), 'no handler ran');
});

test('after all that, a client proving the secret is handed over (the test can tell success from failure)', async (t) => {
  // The deadline is not the subject here: the good client's handshake must not lose to a loaded machine.
  const l = await openListener(t, 20_000);
  const bad = await client(t, l.listener.port);
  bad.socket.write(randomBytes(64));
  await dropped(t, bad, 'garbage first');
  const good = await client(t, l.listener.port);
  const handshake = await within(
    dialHandshake(good.socket, { secret: l.secret, from: 'w', to: 'coordinator', incarnation: 0, timeoutMs: 5000 }),
    5000,
    'the handshake',
  );
  t.is(handshake.peer, 'coordinator');
  await within(l.expected, 5000, 'the handler receiving the connection');
  t.true(l.handedOver());
});
