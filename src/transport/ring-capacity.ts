/**
 * Which record areas a shared-memory ring may have (shm-ring.ts): a file of its own, so that validating
 * the `ringBytes` option does not load the ring itself into every worker.
 */

/** The smallest and largest record area a ring may have. */
export const MIN_RING_BYTES = 1 << 10;
export const MAX_RING_BYTES = 1 << 30;

export function isRingCapacity(bytes: number): boolean {
  return Number.isInteger(bytes) && bytes >= MIN_RING_BYTES && bytes <= MAX_RING_BYTES && (bytes & (bytes - 1)) === 0;
}
