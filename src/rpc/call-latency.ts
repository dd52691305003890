/**
 * Call latency as the caller sees it, per method: from the call to its reply or fault, counted in
 * log-spaced buckets (four per doubling, from 1 µs) that merge across channels and processes by adding.
 *
 * Timing every call would cost two clock reads per call, a large share of a pipelined call's budget, so
 * calls are sampled: about one call in `oneIn` is timed, and it counts for `oneIn` calls. Every
 * ADAPT_WINDOW_MS (judged when a timed call settles, from the ids issued since) `oneIn` is set for the
 * pace of calls: every call is timed below TIMED_PER_SECOND calls a second (a slow, one-at-a-time
 * workload is measured completely), and about that many a second in a flood.
 *
 * The calls between two timed ones are a number drawn at random, of mean `oneIn`, not every `oneIn`-th
 * call: a caller's calls often come in a pattern (`inc` then `echo`, again and again), and a fixed stride
 * lines up with it. Timing the calls whose ids had their low bits clear gave one of two alternating
 * methods every sample and the other none.
 */

/** Buckets per doubling of the latency: each bucket is 2^(1/4) ≈ 1.19 times as wide as the one before. */
export const BUCKETS_PER_DOUBLING = 4;
/** Bucket i holds latencies below 2^((i + 1) / 4) µs; the last also holds everything slower (≈ 268 s). */
export const BUCKET_COUNT = 112;

/** How often the sampling is judged, and how many calls a second it aims to time. */
const ADAPT_WINDOW_MS = 50;
const TIMED_PER_SECOND = 500;
/** However fast calls come, one in 1024 on average is timed. */
const MAX_ONE_IN = 1024;
/**
 * Methods tallied one by one on a channel; calls to any further name are tallied together under
 * OTHER_METHODS. A caller that builds names (from requests, say) must not grow its memory, nor every
 * stats() answer, by a tally per name for ever: ~1 KB each.
 */
export const MAX_METHODS_TALLIED = 256;
export const OTHER_METHODS = '(other methods)';

/** The `oneIn` (a power of two) that times about TIMED_PER_SECOND of `callsPerSecond`. */
function oneInFor(callsPerSecond: number): number {
  let oneIn = 1;
  while (oneIn < MAX_ONE_IN && callsPerSecond / oneIn > TIMED_PER_SECOND) oneIn *= 2;
  return oneIn;
}

/** Calls from one timed call to the next: uniform in 1 … 2·oneIn − 1, whose mean is `oneIn`. */
function gapFor(oneIn: number): number {
  return oneIn === 1 ? 1 : 1 + Math.floor(Math.random() * (2 * oneIn - 1));
}

/** The bucket of a latency in milliseconds. */
export function bucketOf(ms: number): number {
  const index = Math.floor(Math.log2(ms * 1000) * BUCKETS_PER_DOUBLING);
  return index < 0 ? 0 : index >= BUCKET_COUNT ? BUCKET_COUNT - 1 : index;
}

/** The upper bound of bucket `index`, in milliseconds. */
export function bucketUpperMs(index: number): number {
  return 2 ** ((index + 1) / BUCKETS_PER_DOUBLING) / 1000;
}

/** One method's latency on one channel since the channel opened; `buckets` is sparse: [index, count, ...]. */
export interface MethodLatency {
  method: string;
  /** Calls the timed ones stand for (each counts `oneIn` as sampled). */
  count: number;
  sumMs: number;
  buckets: number[];
}

interface MethodTally {
  count: number;
  sumMs: number;
  readonly buckets: Float64Array;
}

export class CallLatency {
  /** About one call in this many is timed. */
  oneIn: number;
  /** Whether `oneIn` follows the pace of calls (always, but in the bench that weighs the sampling). */
  readonly #adapts: boolean;
  /** Calls to make until the next timed one, this one included. */
  #untilTimed: number;
  #windowStart = 0;
  #windowStartId = 0;
  readonly #methods = new Map<string, MethodTally>();

  /** `fixedOneIn`: time about one call in that many, whatever their pace (bench/latency-sampling-cost.ts). */
  constructor(fixedOneIn?: number) {
    this.oneIn = fixedOneIn ?? 1;
    this.#adapts = fixedOneIn === undefined;
    this.#untilTimed = gapFor(this.oneIn);
  }

  /**
   * Called as each of the user's calls is made: 0 if it is not timed, else the calls it stands for (to be
   * given to record() when it settles).
   */
  sample(): number {
    if (--this.#untilTimed > 0) return 0;
    this.#untilTimed = gapFor(this.oneIn);
    return this.oneIn;
  }

  /**
   * Counts one timed call of `method` that started at `startedAt` (performance.now()) and settles now, for
   * `weight` calls: what sample() said when the call was made (weighed by today's `oneIn`, a burst timed
   * whole while it was 1 and answered after it rose counted up to 1024 times over); `lastId` is the
   * latest call id issued on the channel, which tells the pace of calls.
   */
  record(method: string, startedAt: number, weight: number, lastId: number): void {
    const now = performance.now();
    const ms = now - startedAt;
    let tally = this.#methods.get(method);
    if (!tally) {
      const name = this.#methods.size < MAX_METHODS_TALLIED ? method : OTHER_METHODS;
      tally = this.#methods.get(name);
      if (!tally) this.#methods.set(name, (tally = { count: 0, sumMs: 0, buckets: new Float64Array(BUCKET_COUNT) }));
    }
    tally.count += weight;
    tally.sumMs += ms * weight;
    tally.buckets[bucketOf(ms)]! += weight;
    const elapsedMs = now - this.#windowStart;
    if (elapsedMs < ADAPT_WINDOW_MS || !this.#adapts) return;
    this.oneIn = oneInFor(((lastId - this.#windowStartId) * 1000) / elapsedMs);
    // The flood is over: the wait for the next timed call, drawn for it, is drawn again for the new pace.
    if (this.#untilTimed >= 2 * this.oneIn) this.#untilTimed = gapFor(this.oneIn);
    this.#windowStart = now;
    this.#windowStartId = lastId;
  }

  snapshot(): MethodLatency[] {
    const out: MethodLatency[] = [];
    for (const [method, tally] of this.#methods) {
      const buckets: number[] = [];
      tally.buckets.forEach((count, index) => {
        if (count > 0) buckets.push(index, count);
      });
      out.push({ method, count: tally.count, sumMs: tally.sumMs, buckets });
    }
    return out;
  }
}
