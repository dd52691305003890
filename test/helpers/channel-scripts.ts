/**
 * Pieces the channel property tests share: how the transport under a pair varies, waiting for work that
 * grows while it is awaited, and telling a hang from a slow run.
 */
import fc from 'fast-check';
import { MIN_RING_BYTES } from '../../src/transport/ring-capacity.js';
import { DeadlineError, withDeadline } from './deadline.js';
import { type PairConfig, type TransportKind, prng } from './pairs.js';

/**
 * How the transport itself varies: the in-memory pair can take only a few frames per macrotask (a busy
 * receiver falling behind), TCP can pass through a proxy that re-chunks the bytes at random, and
 * shared-memory rings can be small enough to fill (the transport holds frames back, then drains).
 */
export interface TransportVariant {
  framesPerTurn: number | null;
  rechunkSeed: number | null;
  ringBytes: number | null;
}

export function transportVariantArb(kind: TransportKind): fc.Arbitrary<TransportVariant> {
  return fc.record({
    framesPerTurn: kind === 'memory' ? fc.option(fc.integer({ min: 1, max: 3 })) : fc.constant(null),
    rechunkSeed: kind === 'tcp' ? fc.option(fc.integer(), { freq: 2 }) : fc.constant(null),
    ringBytes: kind === 'shm' ? fc.option(fc.constant(MIN_RING_BYTES), { freq: 3 }) : fc.constant(null),
  });
}

/** The pair options that make `variant`. */
export function variantConfig(variant: TransportVariant): PairConfig {
  return {
    ...(variant.framesPerTurn === null ? {} : { framesPerTurn: variant.framesPerTurn }),
    ...(variant.rechunkSeed === null ? {} : { rechunk: prng(variant.rechunkSeed) }),
    ...(variant.ringBytes === null ? {} : { ringBytes: variant.ringBytes }),
  };
}

/** Waits until every promise of every list has settled, including those added to the lists meanwhile. */
export async function settleAll(lists: readonly Promise<unknown>[][]): Promise<void> {
  const done = lists.map(() => 0);
  for (;;) {
    const pending = lists.flatMap((list, i) => list.slice(done[i]));
    if (pending.length === 0) return;
    for (const [i, list] of lists.entries()) done[i] = list.length;
    await Promise.all(pending);
  }
}

/**
 * Resolves when `done` does; rejects when `state()` (where each direction stands) has not changed for
 * `stallMs`, or after `deadlineMs` in all, naming `what` and that state.
 */
export async function untilStalled(
  done: Promise<void>,
  state: () => string,
  what: string,
  { stallMs, deadlineMs }: { stallMs: number; deadlineMs: number },
): Promise<void> {
  const startedAt = performance.now();
  let last = state();
  for (;;) {
    try {
      return await withDeadline(done, stallMs, what);
    } catch (error) {
      if (!(error instanceof DeadlineError)) throw error;
    }
    const now = state();
    if (now === last) throw new DeadlineError(`${what}: nothing moved for ${stallMs} ms\n${now}`);
    if (performance.now() - startedAt > deadlineMs) throw new DeadlineError(`${what}: not done within ${deadlineMs} ms\n${now}`);
    last = now;
  }
}
