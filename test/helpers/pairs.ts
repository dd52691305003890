/**
 * Connected pairs for tests: two transports, or two Endpoints over them, for each real transport —
 * the in-memory pair, a MessageChannel's two ports, a loopback TCP connection (optionally through a
 * proxy that re-chunks the byte stream), and shared-memory rings beside a MessageChannel. Everything a factory opens is closed in `t.teardown()`.
 */
import net from 'node:net';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { ExecutionContext } from 'ava';
import { Channel, type ChannelConfig } from '../../src/channel/channel.js';
import { DEFAULTS } from '../../src/options.js';
import { Endpoint, type EndpointConfig } from '../../src/rpc/endpoint.js';
import { createMemoryTransportPair } from '../../src/transport/memory.js';
import { PortTransport } from '../../src/transport/port.js';
import { ShmTransport, createShmPair } from '../../src/transport/shm.js';
import { connectReading } from '../../src/transport/socket-reads.js';
import { TcpTransport } from '../../src/transport/tcp.js';
import type { ReceivedFrame, Transport } from '../../src/transport/transport.js';
import { nextTurn, withDeadline } from './deadline.js';
import { connectHub } from './nats-hub.js';
import { type NatsServerOptions, startNatsServer } from './nats-server.js';

export const TRANSPORT_KINDS = ['memory', 'port', 'tcp', 'nats', 'shm'] as const;
export type TransportKind = (typeof TRANSPORT_KINDS)[number];

const CLOSE_DEADLINE_MS = 5000;

/** A seeded pseudo-random source (xorshift32), so a failing fast-check run replays exactly. */
export function prng(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

// --- raw TCP -------------------------------------------------------------------------------------

/** Destroys `socket` in teardown and waits until its handle has really closed (its 'close' event). */
export function trackSocket(t: ExecutionContext, socket: net.Socket): net.Socket {
  // Our own flag: `socket.closed` turns true on destroy(), before the handle is released.
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  t.teardown(async () => {
    socket.destroy();
    await withDeadline(closed, CLOSE_DEADLINE_MS, 'socket close in teardown');
  });
  return socket;
}

/** A listener on 127.0.0.1, port 0, closed in teardown. */
export async function listen(t: ExecutionContext, onConnection?: (socket: net.Socket) => void): Promise<net.Server> {
  const server = net.createServer({ noDelay: true }, (socket) => {
    trackSocket(t, socket);
    onConnection?.(socket);
  });
  t.teardown(() => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve())));
  server.listen(0, '127.0.0.1');
  await withDeadline(new Promise((resolve) => server.once('listening', resolve)), CLOSE_DEADLINE_MS, 'listen');
  return server;
}

export function portOf(server: net.Server): number {
  return (server.address() as net.AddressInfo).port;
}

/**
 * A client socket connected to `port` on 127.0.0.1, destroyed in teardown. `reading`: dialed as convoy dials
 * (socket-reads.ts: its bytes reach only `onReads`, never a 'data' listener).
 */
export async function dial(t: ExecutionContext, port: number, { reading = false } = {}): Promise<net.Socket> {
  const options = { port, host: '127.0.0.1', noDelay: true };
  const socket = trackSocket(t, reading ? connectReading(options) : net.connect(options));
  await withDeadline(new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject)), CLOSE_DEADLINE_MS, 'connect');
  return socket;
}

/** Both ends of one loopback TCP connection; `reading`: the client dialed as convoy dials (see `dial`). */
export async function connectSockets(t: ExecutionContext, { reading = false } = {}): Promise<{ client: net.Socket; server: net.Socket }> {
  let accepted!: (socket: net.Socket) => void;
  const serverSide = new Promise<net.Socket>((resolve) => (accepted = resolve));
  const server = await listen(t, (socket) => accepted(socket));
  const client = await dial(t, portOf(server), { reading });
  const serverSocket = await withDeadline(serverSide, CLOSE_DEADLINE_MS, 'accept');
  server.close();
  return { client, server: serverSocket };
}

/**
 * Copies bytes from `from` to `to` in random pieces (1 byte up to `maxPiece`), yielding a macrotask at
 * random points, so frames reach the far side split at any byte and coalesced across frame boundaries.
 */
function rechunkPipe(from: net.Socket, to: net.Socket, random: () => number, maxPiece: number): void {
  let pending: Buffer[] = [];
  let pumping = false;
  let ended = false;
  const pump = async (): Promise<void> => {
    pumping = true;
    while (pending.length > 0 && !to.destroyed) {
      let bytes = Buffer.concat(pending);
      pending = [];
      while (bytes.length > 0 && !to.destroyed) {
        const size = Math.min(bytes.length, 1 + Math.floor(random() * maxPiece));
        to.write(bytes.subarray(0, size));
        bytes = bytes.subarray(size);
        if (random() < 0.3) {
          // Let more input accumulate (coalescing) and let the piece leave on its own (splitting).
          if (bytes.length > 0) pending.unshift(bytes);
          bytes = Buffer.alloc(0);
          await nextTurn();
        }
      }
    }
    pumping = false;
    if (ended && !to.destroyed) to.end();
  };
  from.on('data', (chunk: Buffer) => {
    pending.push(chunk);
    if (!pumping) void pump();
  });
  from.on('end', () => {
    ended = true;
    if (!pumping) to.end();
  });
  from.on('close', () => {
    if (!ended) to.destroy();
  });
  // A reset (the far end destroyed with bytes unread) closes the other side too, as above: with no
  // listener it would be an uncaught exception.
  from.on('error', () => to.destroy());
}

/** A TCP connection whose bytes pass, both ways, through a proxy that re-chunks them at random. */
export async function connectSocketsViaProxy(
  t: ExecutionContext,
  random: () => number,
  maxPiece = 64,
  { reading = false } = {},
): Promise<{ client: net.Socket; server: net.Socket }> {
  const upstream = await connectSockets(t);
  // upstream.client is the proxy's side towards the server; the test's client dials the proxy.
  let accepted!: (socket: net.Socket) => void;
  const proxySide = new Promise<net.Socket>((resolve) => (accepted = resolve));
  const proxy = await listen(t, (socket) => accepted(socket));
  const client = await dial(t, portOf(proxy), { reading });
  const inner = await withDeadline(proxySide, CLOSE_DEADLINE_MS, 'proxy accept');
  proxy.close();
  // Half-open, as the connection it stands for: one side's FIN ends that direction only, and what the
  // other side still sends is delivered (closed, a side still reads until the peer's FIN).
  inner.allowHalfOpen = true;
  upstream.client.allowHalfOpen = true;
  rechunkPipe(inner, upstream.client, random, maxPiece);
  rechunkPipe(upstream.client, inner, random, maxPiece);
  return { client, server: upstream.server };
}

// --- transports ----------------------------------------------------------------------------------

export interface TransportPairOptions {
  /** TCP only: the receive limit of both transports. */
  maxFrameBytes?: number;
  /** TCP only: pass the bytes through a re-chunking proxy driven by this random source. */
  rechunk?: () => number;
  /** Shared memory only: the record area of each ring. */
  ringBytes?: number;
  /** Memory only: frames a receiver takes per macrotask (see MemoryTransportOptions). */
  framesPerTurn?: number;
  /** NATS only: how the test's own nats-server is configured (e.g. a small `maxPayloadBytes`). */
  natsServer?: NatsServerOptions;
}

/** Rings of the `shm` kind: small, so that suites wrap them and fill them. */
const TEST_RING_BYTES = 64 * 1024;

/** Two connected transports of `kind`, not yet started; destroyed (and their sockets/ports closed) in teardown. */
export async function createTransportPair(
  t: ExecutionContext,
  kind: TransportKind,
  options: TransportPairOptions = {},
): Promise<[Transport, Transport]> {
  let pair: [Transport, Transport];
  switch (kind) {
    case 'memory':
      pair = createMemoryTransportPair(options.framesPerTurn === undefined ? undefined : { framesPerTurn: options.framesPerTurn });
      break;
    case 'port': {
      const { port1, port2 } = new MessageChannel();
      t.teardown(() => closePorts(port1, port2));
      pair = [new PortTransport(port1), new PortTransport(port2)];
      break;
    }
    case 'shm': {
      // No spin: both ends share this one thread, where a spin can only wait for itself (spinning is
      // tested where the other side runs: transport-shm and cluster-shm).
      const { port1, port2 } = new MessageChannel();
      t.teardown(() => closePorts(port1, port2));
      const [endA, endB] = createShmPair(options.ringBytes ?? TEST_RING_BYTES, 0);
      pair = [new ShmTransport(port1, endA), new ShmTransport(port2, endB)];
      break;
    }
    case 'tcp': {
      // The client dialed as convoy dials (reading through `onread`), the server accepted (reading 'data').
      const { client, server } = options.rechunk
        ? await connectSocketsViaProxy(t, options.rechunk, undefined, { reading: true })
        : await connectSockets(t, { reading: true });
      const maxFrameBytes = options.maxFrameBytes ?? DEFAULTS.maxFrameBytes;
      pair = [new TcpTransport(client, { maxFrameBytes }), new TcpTransport(server, { maxFrameBytes })];
      break;
    }
    case 'nats': {
      // Two connections, as two hosts would have, to a server of the test's own.
      const server = await startNatsServer(t, options.natsServer);
      const [hubA, hubB] = await Promise.all([connectHub(t, server.url), connectHub(t, server.url)]);
      const maxFrameBytes = options.maxFrameBytes ?? DEFAULTS.maxFrameBytes;
      const a = hubA.open('a', 'b', { maxFrameBytes });
      const b = hubB.open('b', 'a', { maxFrameBytes });
      pair = [a, b];
      // Connected, as the other kinds' pairs are: each side knows the other is bound.
      await withDeadline(Promise.all([a.opened, b.opened]), CLOSE_DEADLINE_MS, 'NATS transports open');
      break;
    }
  }
  // Registered last so it runs first (teardowns run in reverse): transports, then their sockets and ports.
  t.teardown(() => {
    for (const transport of pair) transport.destroy();
  });
  return pair;
}

function closePorts(...ports: MessagePort[]): void {
  // Closing one port closes its twin too; closing both is idempotent and leaves no handle behind.
  for (const port of ports) port.close();
}

// --- endpoints -----------------------------------------------------------------------------------

export interface PairConfig extends TransportPairOptions {
  /** Channel options for both sides (each side can add its own below). */
  channel?: ChannelConfig;
  channelA?: ChannelConfig;
  channelB?: ChannelConfig;
  a?: EndpointConfig;
  b?: EndpointConfig;
}

export interface Pair {
  kind: TransportKind;
  a: Endpoint;
  b: Endpoint;
  transportA: Transport;
  transportB: Transport;
  /** Destroys both endpoints now (teardown does it too; idempotent). */
  destroy(): void;
}

/** Two Endpoints connected over a fresh transport pair of `kind`. */
export async function createPair(t: ExecutionContext, kind: TransportKind, config: PairConfig = {}): Promise<Pair> {
  const [transportA, transportB] = await createTransportPair(t, kind, config);
  const a = new Endpoint(new Channel(transportA, { ...config.channel, ...config.channelA }), {
    peerName: 'b',
    localName: 'a',
    ...config.a,
  });
  const b = new Endpoint(new Channel(transportB, { ...config.channel, ...config.channelB }), {
    peerName: 'a',
    localName: 'b',
    ...config.b,
  });
  const destroy = (): void => {
    a.destroy(new Error('test teardown'));
    b.destroy(new Error('test teardown'));
  };
  t.teardown(destroy);
  return { kind, a, b, transportA, transportB, destroy };
}

/** Resolves with the error `endpoint` closed with, within `ms`. */
export function endpointClosed(endpoint: Endpoint, ms = CLOSE_DEADLINE_MS): Promise<Error> {
  return withDeadline(new Promise<Error>((resolve) => endpoint.onClose(resolve)), ms, 'endpoint close');
}

/** A copy of a frame's bytes, whichever form the transport handed it in (bytes or a binary string). */
export function frameBytes(data: ReceivedFrame): Uint8Array {
  // A transport delivers a value frame only when one was sent as a value; these tests send bytes.
  if (Array.isArray(data)) throw new Error('Expected a frame of bytes, got a value frame');
  return typeof data === 'string' ? Buffer.from(data, 'latin1') : data.slice();
}
