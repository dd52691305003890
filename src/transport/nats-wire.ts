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
 * direction from 1: a gap or a repeat means NATS lost or duplicated something, and the transport breaks
 * rather than hand the channel a hole.
 */
import { ProtocolError } from '../errors.js';

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
/** The largest header: a piece of a frame may carry at most `max_payload` minus this. */
export const MAX_HEADER_BYTES = 13;

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
 * A new message: header, then `body[start, end)` copied in. Always a fresh buffer, because the NATS
 * client queues what it is given without copying it.
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
  const out = new Uint8Array(headerBytes + (end - start));
  const view = new DataView(out.buffer);
  out[0] = kind;
  view.setUint32(1, stream);
  if (headerBytes >= 9) view.setUint32(5, seq);
  if (kind === WireKind.First) view.setUint32(9, total);
  if (body && end > start) out.set(body.subarray(start, end), headerBytes);
  return out;
}

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

/**
 * A subject token for an endpoint or cluster name: names may hold `.` (a NATS token separator), which
 * becomes `~` (never part of a name, so the mapping is one to one).
 */
export function subjectToken(name: string): string {
  if (!/^[\w.-]+$/.test(name))
    throw new TypeError(`Expected a name of letters, digits, '_', '.', '-' for a NATS subject, got ${JSON.stringify(name)}`);
  return name.replaceAll('.', '~');
}

/** Where the frames for `to` from `from` go, in cluster `cluster`. */
export function transportSubject(cluster: string, to: string, from: string): string {
  return `convoy.${subjectToken(cluster)}.w.${subjectToken(to)}.${subjectToken(from)}`;
}
