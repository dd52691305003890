/**
 * The cluster secret at work between a coordinator and an agent: the join proofs, then authenticated
 * session messages. Each carries a counter and an
 * HMAC over it, its direction and its body, under a key derived from the cluster secret and both
 * handshake nonces. A forged, altered or replayed message is refused.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ProtocolError } from '../errors.js';
import { Decoder, Encoder } from '../protocol/codec.js';

/** HMAC-SHA256 of the parts, each followed by a NUL (so "ab"+"c" never equals "a"+"bc"). */
export function hmac(key: Uint8Array, ...parts: (string | Uint8Array)[]): Buffer {
  const mac = createHmac('sha256', key);
  for (const part of parts) {
    mac.update(part);
    mac.update('\0');
  }
  return mac.digest();
}

export function sameBytes(a: unknown, b: Uint8Array): boolean {
  return a instanceof Uint8Array && a.byteLength === b.byteLength && timingSafeEqual(a, b);
}

export class Sealer {
  readonly #key: Buffer;
  readonly #sending: string;
  readonly #receiving: string;
  readonly #encoder = new Encoder();
  readonly #decoder = new Decoder();
  #sent = 0;
  #received = 0;

  /** `side` is who seals: the other side opens with the other name. */
  constructor(secret: Uint8Array, side: 'coordinator' | 'agent', ...context: (string | Uint8Array)[]) {
    this.#key = hmac(secret, 'session', ...context);
    this.#sending = side;
    this.#receiving = side === 'coordinator' ? 'agent' : 'coordinator';
  }

  seal(message: unknown): Uint8Array {
    const body = this.#encoder.encode(message);
    const seq = ++this.#sent;
    return this.#encoder.encode([seq, hmac(this.#key, this.#sending, String(seq), body), body]);
  }

  /** The message inside `bytes`; throws ProtocolError if it is not sealed by the other side or is a replay. */
  open<T>(bytes: Uint8Array): T {
    const envelope = this.#decoder.decode(bytes);
    if (!Array.isArray(envelope) || envelope.length !== 3) throw new ProtocolError('Not a sealed session message');
    const [seq, mac, body] = envelope as [unknown, unknown, unknown];
    if (typeof seq !== 'number' || !(body instanceof Uint8Array)) throw new ProtocolError('Not a sealed session message');
    if (!sameBytes(mac, hmac(this.#key, this.#receiving, String(seq), body))) throw new ProtocolError('Session message seal rejected');
    if (seq <= this.#received) throw new ProtocolError(`Session message ${seq} replayed (last ${this.#received})`);
    this.#received = seq;
    return this.#decoder.decode(body) as T;
  }
}

/** The coordinator's proof in a join: it knows the secret, for this agent's nonce and its own. */
export function joinProof(secret: Uint8Array, host: string, session: string, agentNonce: Uint8Array, nonce: Uint8Array): Buffer {
  return hmac(secret, 'join', host, session, agentNonce, nonce);
}

/** The agent's proof back, over the same values in another order and with another label. */
export function joinedProof(secret: Uint8Array, host: string, session: string, nonce: Uint8Array, agentNonce: Uint8Array): Buffer {
  return hmac(secret, 'joined', host, session, nonce, agentNonce);
}

/**
 * An idle agent's proof that it left the session it had joined with agent nonce `left` (now announcing
 * `nonce`): a forged or replayed idle announce cannot take a host down (see protocol.ts).
 */
export function leftProof(secret: Uint8Array, host: string, left: Uint8Array, nonce: Uint8Array): Buffer {
  return hmac(secret, 'left', host, left, nonce);
}

/**
 * What a session's workers get instead of the cluster secret: one derived from it for that session alone
 * (`scope`), which signs their NATS messages and proves their TCP connections to each other. A worker runs
 * user code; the cluster secret, which lets a coordinator start processes on every agent, stays with the
 * coordinator and the agents.
 */
export function sessionSecret(secret: Uint8Array, scope: string): Uint8Array {
  return new Uint8Array(hmac(secret, 'session secret', scope));
}
