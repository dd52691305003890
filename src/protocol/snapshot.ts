/**
 * The arguments of a call or notify that must wait before its channel takes it (the pair's channel is
 * still opening, its worker is restarting), taken as they are when it is made. An open channel encodes a
 * message as it is queued; a waiting one used to keep the caller's values and read them when it left, so
 * a change the caller made meanwhile crossed with it, and a function put in later failed it only then.
 * Now they are encoded at once, as the channel would, and decoded back into what the receiver will get:
 * a bad argument fails the call as it is made, and what crosses is what was passed. Buffers marked with
 * `transfer()` leave the caller's hands now, as sending would: the copy holds views over the moved
 * buffers (same kind, offset and length), marked for transfer again.
 *
 * `sendable` answers, by the same encoder, whether a value crosses at all: for what is sent only in part
 * when it cannot be sent whole (an error's data).
 */
import { SerializationError } from '../errors.js';
import { Decoder, Encoder, isEncoding, REENTRANT_SEND } from './codec.js';
import { prepareTransfer, transfer, transferListOf } from './transfer.js';

let encoder: Encoder | undefined;
let decoder: Decoder | undefined;

/** `values` (a call's arguments) as the receiver will get them. Throws SerializationError as sending would. */
export function snapshotArguments(values: readonly unknown[]): unknown[] {
  if (isEncoding()) throw new SerializationError(REENTRANT_SEND);
  const list = transferListOf(values);
  const prepared = list && prepareTransfer(values, list, false);
  const own = (encoder ??= new Encoder());
  let copy: unknown[] = [];
  try {
    own.encodeScratch(prepared ? prepared.value : values);
    // Decoded before anything else can encode over the scratch; the decoded values never point into it.
    const bytes = own.scratch.subarray(own.scratchStart, own.scratchEnd);
    const moved = prepared?.commit();
    (decoder ??= new Decoder()).decodeEach(
      bytes,
      (value) => {
        copy = value as unknown[];
        return true;
      },
      moved,
    );
    if (moved) for (const value of copy) if (typeof value === 'object' && value !== null) transfer(value, moved);
  } finally {
    // After a large encode, msgpackr's buffer (the thread's) is made small again now.
    own.release();
  }
  return copy;
}

/** Whether `value` can be encoded, as sending would encode it. */
export function sendable(value: unknown): boolean {
  if (isEncoding()) return false;
  const own = (encoder ??= new Encoder());
  try {
    own.encodeScratch(value);
    return true;
  } catch {
    return false;
  } finally {
    own.release();
  }
}
