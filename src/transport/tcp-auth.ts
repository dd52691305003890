/**
 * Authenticated TCP transports: a connection proves the cluster secret (tcp-handshake.ts) before it
 * becomes a transport, on the dialing and on the accepting side alike. The only way convoy itself makes
 * TCP transports, and the one extenders should use.
 */
import type { Socket } from 'node:net';
import { DEFAULTS } from '../options.js';
import { connectReading } from './socket-reads.js';
import { acceptHandshake, dialHandshake } from './tcp-handshake.js';
import { TcpTransport } from './tcp.js';

export interface DialTcpOptions {
  host: string;
  port: number;
  secret: Uint8Array;
  /** This side's name, and the name it expects to reach. */
  from: string;
  to: string;
  /** This side's incarnation, proven with the rest. @default 0 */
  incarnation?: number;
  /** The pair number, proven with the rest. @default 0 */
  pair?: number;
  /** 0: no deadline (the listener's own deadline, or the listener's death, ends it). @default DEFAULTS.handshakeTimeoutMs */
  handshakeTimeoutMs?: number;
  /** @default DEFAULTS.maxFrameBytes */
  maxFrameBytes?: number;
  /** Sees the socket as soon as it exists, e.g. to destroy it when its owner closes mid-handshake. */
  onSocket?: (socket: Socket) => void;
}

/** Dials, proves the secret, checks the listener's proof, and returns the transport. */
export async function dialTcp(options: DialTcpOptions): Promise<TcpTransport> {
  // node:net is loaded on the first dial, not with the module: most worker threads never dial.
  const socket = connectReading({ host: options.host, port: options.port, noDelay: true });
  // A failed connect emits its error (ECONNREFUSED, EMFILE, …), then `close`: the error says why.
  let failure: Error | undefined;
  socket.on('error', (error) => {
    failure ??= error;
  });
  options.onSocket?.(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('close', () => {
      const where = `Could not reach "${options.to}" at ${options.host}:${options.port}`;
      reject(failure ? new Error(`${where}: ${failure.message}`, { cause: failure }) : new Error(where));
    });
  });
  const { leftover } = await dialHandshake(socket, {
    secret: options.secret,
    from: options.from,
    to: options.to,
    incarnation: options.incarnation ?? 0,
    pair: options.pair ?? 0,
    timeoutMs: options.handshakeTimeoutMs ?? DEFAULTS.handshakeTimeoutMs,
  });
  return new TcpTransport(socket, { maxFrameBytes: options.maxFrameBytes ?? DEFAULTS.maxFrameBytes, leftover });
}

export interface AcceptTcpOptions {
  secret: Uint8Array;
  /** This side's name: a dialer must name it. */
  self: string;
  /** Which (proven) dialer names to take. */
  accept: (peer: string) => boolean;
  /** @default DEFAULTS.handshakeTimeoutMs */
  handshakeTimeoutMs?: number;
  /** @default DEFAULTS.maxFrameBytes */
  maxFrameBytes?: number;
}

export interface AcceptedTcp {
  transport: TcpTransport;
  /** The dialer's proven name, incarnation and pair number. */
  peer: string;
  incarnation: number;
  pair: number;
}

/** Authenticates an accepted socket; the socket is destroyed if the dialer fails or stalls. */
export async function acceptTcp(socket: Socket, options: AcceptTcpOptions): Promise<AcceptedTcp> {
  const { peer, incarnation, pair, leftover } = await acceptHandshake(socket, {
    secret: options.secret,
    self: options.self,
    accept: options.accept,
    timeoutMs: options.handshakeTimeoutMs ?? DEFAULTS.handshakeTimeoutMs,
  });
  const transport = new TcpTransport(socket, { maxFrameBytes: options.maxFrameBytes ?? DEFAULTS.maxFrameBytes, leftover });
  return { transport, peer, incarnation, pair };
}
