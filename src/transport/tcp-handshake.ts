/**
 * Challenge–response authentication for TCP connections, before any message is handled.
 *
 *   listener → dialer : { v, nonce: Ns }
 *   dialer → listener : { v, from, to, incarnation, pair, nonce: Nd, proof: HMAC(secret, "dial" | Ns | from | to | incarnation | pair) }
 *   listener → dialer : { proof: HMAC(secret, "accept" | Nd | Ns) }
 *
 * Both sides prove knowledge of the cluster secret without sending it; fresh nonces stop replays. A peer
 * that sends garbage, a wrong proof, or nothing within `timeoutMs` is dropped. Handshake frames are tiny,
 * so they are read with a 4 KiB frame limit: a forged length cannot make us buffer much.
 */
import type { Socket } from 'node:net';
import { ProtocolError } from '../errors.js';
import { Decoder, Encoder } from '../protocol/codec.js';
import { FrameDecoder, prefixedFrame } from '../protocol/framing.js';
import { PROTOCOL_VERSION, type HandshakeChallenge, type HandshakeHello, type HandshakeWelcome } from '../protocol/messages.js';
import { crypto } from './lazy-crypto.js';
import { onReads } from './socket-reads.js';

const HANDSHAKE_FRAME_BYTES = 4096;
const NONCE_BYTES = 16;
const EMPTY = Buffer.alloc(0);

export interface Handshaken {
  /** The other side's name (for an accepted connection: the dialer's claim, now proven). */
  peer: string;
  /** The dialer's incarnation (for a dialed connection: our own). */
  incarnation: number;
  /** The pair number the dialer claims (proven with the rest). */
  pair: number;
  /** Bytes read past the handshake: the first frames of the channel. */
  leftover: Buffer[];
}

function proof(secret: Uint8Array, ...parts: (string | Uint8Array)[]): Buffer {
  const hmac = crypto().createHmac('sha256', secret);
  for (const part of parts) {
    hmac.update(part);
    hmac.update('\0');
  }
  return hmac.digest();
}

function same(a: unknown, b: Buffer): boolean {
  return a instanceof Uint8Array && a.byteLength === b.byteLength && crypto().timingSafeEqual(a, b);
}

/** Reads handshake frames one at a time from `socket`, with a deadline over the whole exchange. */
class HandshakeReader {
  readonly #socket: Socket;
  readonly #frames = new FrameDecoder(HANDSHAKE_FRAME_BYTES);
  readonly #decoder = new Decoder();
  #wake: (() => void) | undefined;
  #failure: Error | undefined;
  readonly #stopReading: () => void;
  readonly #onData = (chunk: Buffer): void => {
    this.#frames.push(chunk, 0);
    this.#wake?.();
  };
  readonly #onEnd = (): void => {
    this.#failure ??= new ProtocolError('Connection closed during the handshake');
    this.#wake?.();
  };

  constructor(socket: Socket) {
    this.#socket = socket;
    this.#stopReading = onReads(socket, this.#onData);
    socket.on('close', this.#onEnd);
    socket.on('error', this.#onEnd);
    // Listeners accept with pauseOnConnect; a 'data' listener alone does not resume a paused socket.
    socket.resume();
  }

  /** The next handshake frame. Only one frame is parsed at a time: what follows may be channel frames. */
  async next(): Promise<Record<string, unknown>> {
    for (;;) {
      const [frame] = this.#frames.push(EMPTY, 1);
      if (frame) {
        const value = this.#decoder.decode(frame);
        if (typeof value !== 'object' || value === null) throw new ProtocolError('Handshake frame is not an object');
        return value as Record<string, unknown>;
      }
      if (this.#failure) throw this.#failure;
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
  }

  /** Stops reading: the socket is paused, and the bytes past the handshake are handed back for the channel. */
  detach(): Buffer[] {
    this.#socket.pause();
    this.#stopReading();
    this.#socket.off('close', this.#onEnd);
    this.#socket.off('error', this.#onEnd);
    return this.#frames.takeRemainder();
  }
}

/** One encoder for every handshake in this thread (made on first use): prefixedFrame copies what it encodes. */
let encoder: Encoder | undefined;

function write(socket: Socket, value: unknown): void {
  socket.write(prefixedFrame((encoder ??= new Encoder()).encode(value)));
}

/** Runs a handshake that ends the socket unless done within `timeoutMs` (0: no deadline). */
async function withDeadline<T>(socket: Socket, timeoutMs: number, run: () => Promise<T>): Promise<T> {
  const timer =
    timeoutMs > 0
      ? setTimeout(() => socket.destroy(new ProtocolError(`Handshake not completed within ${timeoutMs} ms`)), timeoutMs)
      : undefined;
  try {
    return await run();
  } catch (error) {
    socket.destroy();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** The listener's side. `accept(name)` decides which dialers are expected. */
export function acceptHandshake(
  socket: Socket,
  options: { secret: Uint8Array; self: string; accept: (peer: string) => boolean; timeoutMs: number },
): Promise<Handshaken> {
  return withDeadline(socket, options.timeoutMs, async () => {
    const reader = new HandshakeReader(socket);
    const nonce = crypto().randomBytes(NONCE_BYTES);
    write(socket, { v: PROTOCOL_VERSION, nonce } satisfies HandshakeChallenge);
    const hello = (await reader.next()) as Partial<HandshakeHello>;
    if (hello.v !== PROTOCOL_VERSION) throw new ProtocolError(`Protocol version ${String(hello.v)} is not ${PROTOCOL_VERSION}`);
    if (
      typeof hello.from !== 'string' ||
      typeof hello.to !== 'string' ||
      !Number.isSafeInteger(hello.incarnation) ||
      !Number.isSafeInteger(hello.pair) ||
      !(hello.nonce instanceof Uint8Array)
    ) {
      throw new ProtocolError('Malformed handshake hello');
    }
    if (!same(hello.proof, proof(options.secret, 'dial', nonce, hello.from, hello.to, String(hello.incarnation), String(hello.pair)))) {
      throw new ProtocolError('Handshake proof rejected');
    }
    if (hello.to !== options.self || !options.accept(hello.from)) {
      throw new ProtocolError(`Unexpected connection from "${hello.from}" to "${hello.to}"`);
    }
    write(socket, { proof: proof(options.secret, 'accept', hello.nonce, nonce) } satisfies HandshakeWelcome);
    return { peer: hello.from, incarnation: hello.incarnation!, pair: hello.pair!, leftover: reader.detach() };
  });
}

/** The dialer's side: proves itself, then checks the listener's proof. */
export function dialHandshake(
  socket: Socket,
  options: { secret: Uint8Array; from: string; to: string; incarnation: number; pair?: number; timeoutMs: number },
): Promise<Handshaken> {
  return withDeadline(socket, options.timeoutMs, async () => {
    const reader = new HandshakeReader(socket);
    const challenge = (await reader.next()) as Partial<HandshakeChallenge>;
    if (challenge.v !== PROTOCOL_VERSION || !(challenge.nonce instanceof Uint8Array)) {
      throw new ProtocolError(`Unexpected handshake challenge (protocol version ${String(challenge.v)})`);
    }
    const nonce = crypto().randomBytes(NONCE_BYTES);
    const pair = options.pair ?? 0;
    const hello: HandshakeHello = {
      v: PROTOCOL_VERSION,
      from: options.from,
      to: options.to,
      incarnation: options.incarnation,
      pair,
      nonce,
      proof: proof(options.secret, 'dial', challenge.nonce, options.from, options.to, String(options.incarnation), String(pair)),
    };
    write(socket, hello);
    const welcome = (await reader.next()) as Partial<HandshakeWelcome>;
    if (!same(welcome.proof, proof(options.secret, 'accept', nonce, challenge.nonce))) {
      throw new ProtocolError(`Listener "${options.to}" failed to prove the cluster secret`);
    }
    return { peer: options.to, incarnation: options.incarnation, pair, leftover: reader.detach() };
  });
}
