/**
 * Payloads of many kinds for channel tests, made from a message's sequence number so that the receiver
 * can tell what it should have got: plain values (a lone one leaves a MessagePort as a value frame) and
 * values that must be encoded (large, deep, Maps, class instances, transferred buffers).
 */
import { isDeepStrictEqual } from 'node:util';
import { RemoteError } from '../../src/errors.js';
import { transfer } from '../../src/protocol/transfer.js';
import type { Outcome } from './deadline.js';

/**
 * What a message carries or a reply returns. The first four are plain (a lone one leaves a MessagePort
 * as a value frame); the others are encoded: past the plain size or depth bounds, past the outbox's
 * arena size, not plain at all, or buffers moved beside the frame.
 */
export const PAYLOAD_KINDS = ['number', 'string', 'object', 'array', 'large', 'huge', 'deep', 'map', 'instance', 'transfer'] as const;
export type PayloadKind = (typeof PAYLOAD_KINDS)[number];

class Point {
  constructor(
    readonly x: number,
    readonly label: string,
  ) {}
}

/** `size` bytes that depend on `seed` and on each position, so a shifted or mixed-up copy does not compare equal. */
export function filled(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
}

/** The value of `kind` for message `seq`, as the sender passes it. */
export function makePayload(kind: PayloadKind, seq: number): unknown {
  switch (kind) {
    case 'number':
      return seq;
    case 'string':
      return `${'s'.repeat(seq % 40)}${seq}`;
    case 'object':
      return { seq, tag: 'o', list: [seq, 'x'] };
    case 'array':
      return [seq, 'a', [seq, null], { n: seq }];
    case 'large':
      return { seq, text: 'L'.repeat(1500 + (seq % 500)) };
    case 'huge':
      return `${'H'.repeat(20_000 + seq)}`;
    case 'deep':
      return [[[[[[seq]]]]]];
    case 'map':
      return new Map<unknown, unknown>([
        [seq, 'm'],
        ['k', [seq]],
      ]);
    case 'instance':
      return new Point(seq, 'p');
    case 'transfer': {
      const bytes = filled(16 + ((seq * 97) % 6000), seq);
      return transfer(bytes, [bytes.buffer as ArrayBuffer]);
    }
  }
}

/** The value of `kind` for message `seq`, as the receiver must see it (a class instance arrives as its fields). */
export function expectedPayload(kind: PayloadKind, seq: number): unknown {
  if (kind === 'instance') return { x: seq, label: 'p' };
  if (kind === 'transfer') return filled(16 + ((seq * 97) % 6000), seq);
  return makePayload(kind, seq);
}

/** What a call's handler answers: a payload, or a fault (thrown, synchronously or not) naming the call. */
export type Reply = PayloadKind | 'fault';

export class ScriptedFault extends Error {
  constructor(readonly seq: number) {
    super(`scripted fault of call ${seq}`);
  }
}

/** Whether a call's outcome is the one its handler was told to give. */
export function isAnswer(reply: Reply, seq: number, result: Outcome<unknown>): boolean {
  if (reply !== 'fault') return result.ok && isDeepStrictEqual(result.value, expectedPayload(reply, seq));
  return !result.ok && result.error instanceof RemoteError && result.error.data.seq === seq;
}
