/**
 * What one NATS message of a transport carries: a small binary header, then (for data) part or all of
 * a channel frame. Pure, no I/O.
 *
 *   open      [1][stream]                   "I am bound and subscribed; this is my stream"
 *   open-ack  [2][stream]                   the answer to an open (so is any open the other side sends)
 *   frame     [3][stream][seq] bytes        one whole channel frame
 *   first     [4][stream][seq][total] bytes the first piece of a frame larger than the server's max_payload
 *   more      [5][stream][seq] bytes        the next piece; the frame is whole once `total` bytes arrived
 *   close     [6][stream][seq]              graceful end: nothing follows on this stream
 *   reset     [7][stream] reason            abrupt end, or "my connection was lost: this stream is broken";
 *                                           the reason (UTF-8, short; may be empty) says why, for the peer's error
 *
 * `stream` (u32) names the sender's transport, so frames of an earlier transport between the same two
 * endpoints are never taken for this one's. `seq` (u32) numbers every frame, piece and close of one
 * direction from 1: a gap means NATS lost something, and the transport breaks rather than hand the
 * channel a hole; a repeat is dropped (see NatsTransport.receive).
 *
 * Every message ends with a tag: the first TAG_BYTES of an HMAC-SHA256 of the rest, under a key derived
 * from the cluster secret and the subject it is published on (which names the session, the sender and
 * the receiver). Anyone on the NATS server can read a subject; without the secret nobody can publish on
 * it what a transport takes, and a message copied from one subject is refused on any other. A message
 * whose tag is wrong is dropped unread: it is not the peer's, so it cannot break the peer's stream either.
 */
import { ProtocolError } from '../errors.js';
import { crypto } from './lazy-crypto.js';

export const WireKind = {
  Open: 1,
  OpenAck: 2,
  Frame: 3,
  First: 4,
  More: 5,
  Close: 6,
  Reset: 7,
} as const;
export type WireKind = (typeof WireKind)[keyof typeof WireKind];

/** Header bytes of each kind: kind, stream, then seq for numbered kinds, then total for `first`. */
const HEADER_BYTES: Record<WireKind, number> = { 1: 5, 2: 5, 3: 9, 4: 13, 5: 9, 6: 9, 7: 5 };
/** The largest header: a piece of a frame may carry at most `max_payload` minus this and TAG_BYTES. */
export const MAX_HEADER_BYTES = 13;
/** The tag at the end of every message (128 bits of HMAC-SHA256). */
export const TAG_BYTES = 16;

export interface WireMessage {
  kind: WireKind;
  stream: number;
  /** Numbered kinds (frame, first, more, close); 0 otherwise. */
  seq: number;
  /** `first` only: the whole frame's length. */
  total: number;
  /** The bytes after the header (a view, not a copy). */
  body: Uint8Array;
}

/**
 * A new message: header, then `body[start, end)` copied in, then room for its tag (`sign` writes it).
 * Always a fresh buffer, because the NATS client queues what it is given without copying it.
 */
export function encodeWire(
  kind: WireKind,
  stream: number,
  seq = 0,
  body?: Uint8Array,
  start = 0,
  end = body?.byteLength ?? 0,
  total = 0,
): Uint8Array {
  const headerBytes = HEADER_BYTES[kind];
  const out = new Uint8Array(headerBytes + (end - start) + TAG_BYTES);
  const view = new DataView(out.buffer);
  out[0] = kind;
  view.setUint32(1, stream);
  if (headerBytes >= 9) view.setUint32(5, seq);
  if (kind === WireKind.First) view.setUint32(9, total);
  if (body && end > start) out.set(body.subarray(start, end), headerBytes);
  return out;
}

/** The key that authenticates what is published on `subject` (see the tag, above). */
export function subjectKey(secret: Uint8Array, subject: string): Buffer {
  return crypto().createHmac('sha256', secret).update('convoy nats transport\0').update(subject).digest();
}

/** Writes the tag of `message` (from encodeWire) into its last TAG_BYTES. */
export function sign(key: Uint8Array, message: Uint8Array): void {
  const end = message.byteLength - TAG_BYTES;
  const mac = crypto().createHmac('sha256', key).update(message.subarray(0, end)).digest();
  message.set(mac.subarray(0, TAG_BYTES), end);
}

/** The message without its tag when the tag is right, else undefined. */
export function verified(key: Uint8Array, data: Uint8Array): Uint8Array | undefined {
  const end = data.byteLength - TAG_BYTES;
  if (end < 1) return undefined;
  const mac = crypto().createHmac('sha256', key).update(data.subarray(0, end)).digest();
  return crypto().timingSafeEqual(mac.subarray(0, TAG_BYTES), data.subarray(end)) ? data.subarray(0, end) : undefined;
}

/** Decodes a message whose tag was checked and cut off (`verified`). */
export function decodeWire(data: Uint8Array): WireMessage {
  const kind = data[0] as WireKind;
  const headerBytes = HEADER_BYTES[kind];
  if (headerBytes === undefined) throw new ProtocolError(`Unknown NATS transport message kind ${String(kind)}`);
  if (data.byteLength < headerBytes)
    throw new ProtocolError(`NATS transport message of ${data.byteLength} bytes is shorter than its header`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return {
    kind,
    stream: view.getUint32(1),
    seq: headerBytes >= 9 ? view.getUint32(5) : 0,
    total: kind === WireKind.First ? view.getUint32(9) : 0,
    body: data.subarray(headerBytes),
  };
}

/** At most this many bytes of a reset's reason are sent: enough to say why, never a large message. */
const MAX_RESET_REASON_BYTES = 240;

/** A reset of `stream`, saying why: the other side's error names the reason. */
export function encodeReset(stream: number, reason: string): Uint8Array {
  let bytes = new TextEncoder().encode(reason);
  if (bytes.byteLength > MAX_RESET_REASON_BYTES) {
    // Cut on a character boundary, so the reason still decodes whole.
    let end = MAX_RESET_REASON_BYTES;
    while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
    bytes = bytes.subarray(0, end);
  }
  return encodeWire(WireKind.Reset, stream, 0, bytes);
}

/** The reason a reset gives ('' from a sender that gives none). Never throws: a bad byte becomes U+FFFD. */
export function resetReason(message: WireMessage): string {
  return new TextDecoder().decode(message.body.subarray(0, MAX_RESET_REASON_BYTES));
}

/** The sequence number after `seq` (u32, wrapping). */
export function nextSeq(seq: number): number {
  return (seq + 1) >>> 0 || 1;
}

/** Whether `name` can be a subject token (subjectToken takes it): what a name read off the wire is checked with. */
export function isSubjectName(name: unknown): name is string {
  return typeof name === 'string' && /^[\w.-]+$/.test(name);
}

/**
 * A subject token for an endpoint or cluster name: names may hold `.` (a NATS token separator), which
 * becomes `~` (never part of a name, so the mapping is one to one).
 */
export function subjectToken(name: string): string {
  if (!isSubjectName(name))
    throw new TypeError(`Expected a name of letters, digits, '_', '.', '-' for a NATS subject, got ${JSON.stringify(name)}`);
  return name.replaceAll('.', '~');
}

/** Where the frames for `to` from `from` go, in cluster `cluster`. */
export function transportSubject(cluster: string, to: string, from: string): string {
  return `convoy.${subjectToken(cluster)}.w.${subjectToken(to)}.${subjectToken(from)}`;
}
