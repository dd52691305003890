/**
 * Plain messages: small ones that structured clone and the codec carry to exactly the same value, so a
 * MessagePort may post one as it is instead of its encoding (a value frame; see Channel).
 *
 * A message is plain when each of its elements, and each element of an arguments array in it, is
 * `undefined`, `null`, a boolean, a number other than -0 (the codec writes -0 as the integer 0), or a
 * well-formed string (the codec writes UTF-8, which has no lone surrogate; clone would keep one).
 * Anything else — objects, nested arrays, sparse arrays, Maps, BigInts, buffers — is left to the codec,
 * whose rules then apply on every transport alike.
 */

/** Plain messages are small: past this bound on its encoded size, a message is encoded as usual. */
export const MAX_PLAIN_BYTES = 1024;

/**
 * An upper bound on the encoded size of `message` when it is plain (header and UTF-8 at their longest),
 * or -1 when it is not plain or its bound passes MAX_PLAIN_BYTES.
 */
export function plainMessageBytes(message: readonly unknown[]): number {
  let bytes = arrayHeaderBytes(message.length);
  for (let i = 0; i < message.length; i++) {
    const value = message[i];
    let size = plainValueBytes(value);
    if (size < 0) {
      if (!Array.isArray(value) || value.constructor !== Array) return -1;
      size = arrayHeaderBytes(value.length);
      for (let j = 0; j < value.length; j++) {
        const element = plainValueBytes(value[j]);
        // A hole would arrive as a hole by clone and as undefined by the codec.
        if (element < 0 || !(j in value)) return -1;
        size += element;
      }
    }
    bytes += size;
    if (bytes > MAX_PLAIN_BYTES) return -1;
  }
  return bytes;
}

function arrayHeaderBytes(length: number): number {
  return length < 16 ? 1 : length < 0x10000 ? 3 : 5;
}

/** The bound of one plain value's encoding, or -1. */
function plainValueBytes(value: unknown): number {
  switch (typeof value) {
    case 'number':
      return value !== 0 || 1 / value > 0 ? 9 : -1;
    case 'string':
      return value.length <= MAX_PLAIN_BYTES && value.isWellFormed() ? 5 + 3 * value.length : -1;
    case 'boolean':
      return 1;
    case 'undefined':
      // msgpackr writes undefined as a 1-byte extension: 3 bytes.
      return 3;
    default:
      return value === null ? 1 : -1;
  }
}
