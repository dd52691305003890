/**
 * Pieces the channel property tests share: how the transport and the channel options under a pair vary,
 * the steps of a script that only wait, how many runs and which seed, waiting for work that grows while it
 * is awaited, and telling a hang from a slow run.
 */
import fc from 'fast-check';
import type { ChannelConfig } from '../../src/channel/channel.js';
import { DEFAULTS } from '../../src/options.js';
import { MIN_RING_BYTES } from '../../src/transport/ring-capacity.js';
import { DeadlineError, type Delay, pause, withDeadline } from './deadline.js';
import { type PairConfig, type TransportKind, prng } from './pairs.js';

/**
 * A script hangs when nothing moves for this long (what counts as moving is each test's `state()`). A slow
 * run (a loaded machine, megabytes through the re-chunking proxy) keeps moving.
 */
export const STALL_MS = 4000;
/** And a script that keeps moving but never ends (a livelock) fails after this long. */
export const SCRIPT_DEADLINE_MS = 60_000;
/** A failing property shrinks its case, a hang costing STALL_MS or more per attempt: ava must wait for it. */
export const SHRINKING_TIMEOUT_MS = 10 * 60_000;

/**
 * A large window (with the default maxInFlight): nothing waits for room, so handlers that await what they
 * sent cannot wait on each other.
 */
export const ROOMY_QUEUED_BYTES = 16 << 20;

/**
 * Each side's channel options: batches often tiny, so that one flush sends many frames (and fills a small
 * ring); windows small enough that messages wait for room, or roomy.
 */
export const channelConfigArb: fc.Arbitrary<ChannelConfig> = fc.record({
  maxBatchBytes: fc.oneof(fc.integer({ min: 1, max: 256 }), fc.integer({ min: 1, max: 16_384 })),
  flushDelayMs: fc.constantFrom(0, 0, 1, 3),
  maxQueuedBytes: fc.constantFrom(512, 8192, ROOMY_QUEUED_BYTES),
  maxInFlight: fc.constantFrom(1, 3, DEFAULTS.maxInFlight),
  backpressure: fc.constant('wait' as const),
});

/** The steps of a script that only wait, and how (see `pause`). */
const WAIT_STEPS = { 'await-microtask': 1, 'await-turn': 2, 'await-timer': 3 } as const satisfies Record<string, Delay>;
export type WaitStep = keyof typeof WAIT_STEPS;

/** The wait of a step that only waits. */
export function waitOf(op: WaitStep): Promise<void> | undefined {
  return pause(WAIT_STEPS[op]);
}

/**
 * Runs per transport kind: the shared-memory, TCP and NATS pairs cost more to open and run than the
 * in-process ones. Sized for the suite's time budget; every run draws new cases, and a deeper search
 * sets `${prefix}_RUNS` (e.g. `BIDI_RUNS=500 npx ava test/channel-bidirectional.test.ts`).
 */
const NUM_RUNS: Record<TransportKind, number> = { memory: 60, port: 35, shm: 35, tcp: 30, nats: 15 };

/**
 * fast-check's run count and seed for a property over `kind`, which `${prefix}_RUNS` (runs per kind) and
 * `${prefix}_SEED` (a seed fast-check printed) override from the environment.
 */
export function runParameters(prefix: string, kind: TransportKind): { numRuns: number; seed?: number } {
  const runs = process.env[`${prefix}_RUNS`];
  const seed = process.env[`${prefix}_SEED`];
  return { numRuns: runs === undefined ? NUM_RUNS[kind] : Number(runs), ...(seed === undefined ? {} : { seed: Number(seed) }) };
}

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
  { stallMs = STALL_MS, deadlineMs = SCRIPT_DEADLINE_MS }: { stallMs?: number; deadlineMs?: number } = {},
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
