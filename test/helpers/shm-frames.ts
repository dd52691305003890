/**
 * Numbered frames for the shared-memory transport tests, the same in the test and in a sender thread
 * (test/fixtures/shm-sender.mjs): frame k starts with k (u32) and its length, and its bytes follow from
 * k, so a receiver can tell a whole frame from a torn one and spot a gap or a swap. Every 7th frame is
 * larger than a quarter of the ring (it travels on the port), every 11th transfers a buffer beside it
 * (also the port); the rest go through the ring.
 */
import type { ReceivedFrame } from '../../src/transport/transport.js';

/** Frame k for a ring of `ringBytes`. */
export function frameBytes(k: number, ringBytes: number): Uint8Array {
  const length = k % 7 === 6 ? ringBytes / 4 + 1 + (k % 13) : 8 + ((k * 37) % 600);
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, k);
  view.setUint32(4, length);
  for (let i = 8; i < length; i++) bytes[i] = (k * 31 + i) & 0xff;
  return bytes;
}

/** The buffers frame k transfers beside it, if any. */
export function frameTransfer(k: number): ArrayBuffer[] | undefined {
  if (k % 11 !== 10) return undefined;
  const buffer = new ArrayBuffer(16);
  new DataView(buffer).setUint32(0, k);
  return [buffer];
}

/** Why `bytes` is not a whole frame k with its transfers, or undefined if it is. */
export function frameProblem(
  k: number,
  bytes: ReceivedFrame,
  transferred: ArrayBuffer[] | undefined,
  ringBytes: number,
): string | undefined {
  const expected = frameBytes(k, ringBytes);
  // The rings and the port beside them carry bytes: a frame never arrives as a string.
  if (typeof bytes === 'string') return `frame ${k}: a string`;
  if (Array.isArray(bytes)) return `frame ${k}: a value frame`;
  if (bytes.byteLength < 8) return `frame ${k}: ${bytes.byteLength} bytes`;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0) !== k) return `frame ${k}: got frame ${view.getUint32(0)}`;
  if (!Buffer.from(bytes).equals(Buffer.from(expected))) return `frame ${k}: bytes differ (${bytes.byteLength} of ${expected.byteLength})`;
  const transfer = frameTransfer(k);
  if ((transferred?.length ?? 0) !== (transfer?.length ?? 0)) return `frame ${k}: ${transferred?.length ?? 0} buffers transferred`;
  if (transfer && new DataView(transferred![0]!).getUint32(0) !== k) return `frame ${k}: another frame's buffer`;
  return undefined;
}
