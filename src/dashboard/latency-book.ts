/**
 * Call latency per caller, callee and method, merged from the channels' cumulative bucket counts: totals
 * since the dashboard first read them (for /metrics histograms) and a window that fades with a
 * RECENT_TAU_MS time constant (for the page's p50 and p99, which should follow what happens now).
 */
import { BUCKET_COUNT, bucketUpperMs, type MethodLatency } from '../rpc/call-latency.js';
import type { LatencyRow } from './snapshot.js';

/** How fast old calls fade from the recent window: after this long a call weighs 1/e. */
const RECENT_TAU_MS = 5000;
/**
 * The recent window's counts are kept scaled up by e^((t − origin) / τ), t being when each was added, so
 * fading costs nothing per reading (see LatencyBook). Past this exponent (~25 minutes at τ = 5 s) every
 * count is scaled back down and the origin moves: e^300 is far below a double's limit (e^709).
 */
const RESCALE_PAST = 300;
/** A pair whose recent calls weigh less than this together, and that made none since the last reading, has no row. */
const FADED_BELOW = 1e-3;

export interface LatencyTotals {
  caller: string;
  callee: string;
  method: string;
  count: number;
  sumMs: number;
  buckets: Float64Array;
}

type Quantiles = { p50Ms: number | null; p99Ms: number | null };

/** Recent counts of one method or one (caller, callee, method), and their quantiles while they last. */
interface RecentWindow {
  /** Scaled: the counts now are these times e^(−(now − origin) / τ). */
  readonly recent: Float64Array;
  /** Fading scales every bucket alike, which moves no quantile: only new calls make these stale. */
  quantiles: Quantiles | undefined;
}

interface Entry extends LatencyTotals, RecentWindow {
  generation: string;
  /** The channel's cumulative reading last time, to take differences from, and when it was taken. */
  lastReading: MethodLatency | undefined;
  lastAt: number;
  lastCount: number;
  lastSumMs: number;
  readonly last: Float64Array;
  /** Scaled like `recent`. */
  recentCount: number;
  /** The rate of calls as of reading number `ratedIn` (0 at any later one). */
  callsPerSec: number;
  ratedIn: number;
  readonly methodWindow: RecentWindow;
}

/**
 * Every call's latency, kept as totals (for /metrics) and in a window that fades with time (for the page).
 *
 * A large mesh holds thousands of (caller, callee, method) entries, most of them idle at any reading: 128
 * threads with every pair open, ~16 000. Fading each one's 112 buckets at every reading, and working out
 * each one's quantiles and each method's merged buckets again, took ~65 ms of the coordinator's thread per
 * reading. Instead, counts are added already scaled up for the time they arrive at (the usual trick for
 * exponential decay: a call added at t weighs e^((t − origin) / τ), and everything is read at
 * e^(−(now − origin) / τ)), so fading is one multiplication at read time and the quantiles of a window that
 * got no new calls are the ones it had; and a reading already ingested is known by its identity. An idle
 * entry costs a lookup per reading.
 */
export class LatencyBook {
  readonly #entries = new Map<string, Entry>();
  readonly #methods = new Map<string, RecentWindow>();
  /**
   * The entry each method reading was last ingested into. Readings of a channel that has not moved are the
   * same frozen objects again (cluster/stats.ts): such a reading has nothing new, and is known without
   * building its key.
   */
  readonly #ingested = new WeakMap<MethodLatency, Entry>();
  /** Where the scaled counts count from, and the latest reading's time and number. */
  #origin: number | undefined;
  #at = 0;
  #readings = 0;

  /** Every (caller, callee, method) seen, with totals since the dashboard first read it. */
  get totals(): Iterable<LatencyTotals> {
    return this.#entries.values();
  }

  /**
   * Takes one reading, at `at` (ms), of every channel's latency. `elapsedMs` is the time since the reading
   * before (0 on the first: then only totals are taken, the recent window starts empty). A channel whose
   * worker missed readings is not in them: its next one counts from its last.
   */
  ingest(readings: { from: string; to: string; generation: string; latency: MethodLatency[] }[], at: number, elapsedMs: number): void {
    this.#origin ??= at;
    if ((at - this.#origin) / RECENT_TAU_MS > RESCALE_PAST) this.#rescale(at);
    this.#at = at;
    this.#readings++;
    // What a call arriving now weighs in the scaled counts; the first reading adds none to the window.
    const weight = elapsedMs > 0 ? Math.exp((at - this.#origin) / RECENT_TAU_MS) : 0;
    for (const reading of readings) {
      for (const method of reading.latency) {
        const entry = this.#ingested.get(method);
        if (entry?.lastReading === method && entry.generation === reading.generation) entry.lastAt = at;
        else this.#ingested.set(method, this.#ingestMethod(reading.from, reading.to, reading.generation, method, at, elapsedMs, weight));
      }
    }
  }

  /** Recent p50/p99 and rate per method (all callers and callees together) and per caller, callee and method. */
  rows(): { byMethod: LatencyRow[]; byPair: LatencyRow[] } {
    const fade = this.#origin === undefined ? 0 : Math.exp(-(this.#at - this.#origin) / RECENT_TAU_MS);
    const byPair: LatencyRow[] = [];
    const callsOf = new Map<string, number>();
    for (const entry of this.#entries.values()) {
      const callsPerSec = entry.ratedIn === this.#readings ? entry.callsPerSec : 0;
      if (entry.recentCount * fade < FADED_BELOW && callsPerSec === 0) continue;
      entry.quantiles ??= quantiles(entry.recent);
      byPair.push({ method: entry.method, caller: entry.caller, callee: entry.callee, callsPerSec, ...entry.quantiles });
      callsOf.set(entry.method, (callsOf.get(entry.method) ?? 0) + callsPerSec);
    }
    // A method's window holds all its calls, those of pairs faded out of the rows too (they weigh < 0.001 each).
    const byMethod = [...callsOf].map(([method, callsPerSec]): LatencyRow => {
      const window = this.#methods.get(method)!;
      window.quantiles ??= quantiles(window.recent);
      return { method, callsPerSec, ...window.quantiles };
    });
    byMethod.sort((a, b) => b.callsPerSec - a.callsPerSec || a.method.localeCompare(b.method));
    byPair.sort((a, b) => b.callsPerSec - a.callsPerSec);
    return { byMethod, byPair };
  }

  /** Scales every window down to count from `at`: the same counts, smaller numbers. */
  #rescale(at: number): void {
    const factor = Math.exp(-(at - this.#origin!) / RECENT_TAU_MS);
    const windows: Iterable<RecentWindow> = [...this.#entries.values(), ...this.#methods.values()];
    for (const window of windows) for (let i = 0; i < BUCKET_COUNT; i++) window.recent[i]! *= factor;
    for (const entry of this.#entries.values()) entry.recentCount *= factor;
    this.#origin = at;
  }

  #ingestMethod(
    caller: string,
    callee: string,
    generation: string,
    reading: MethodLatency,
    at: number,
    elapsedMs: number,
    weight: number,
  ): Entry {
    const key = `${caller}\u0000${callee}\u0000${reading.method}`;
    let entry = this.#entries.get(key);
    if (!entry) {
      let methodWindow = this.#methods.get(reading.method);
      if (!methodWindow)
        this.#methods.set(reading.method, (methodWindow = { recent: new Float64Array(BUCKET_COUNT), quantiles: undefined }));
      entry = {
        caller,
        callee,
        method: reading.method,
        generation,
        count: 0,
        sumMs: 0,
        buckets: new Float64Array(BUCKET_COUNT),
        lastReading: undefined,
        lastAt: 0,
        lastCount: 0,
        lastSumMs: 0,
        last: new Float64Array(BUCKET_COUNT),
        recent: new Float64Array(BUCKET_COUNT),
        quantiles: undefined,
        recentCount: 0,
        callsPerSec: 0,
        ratedIn: 0,
        methodWindow,
      };
      this.#entries.set(key, entry);
    }
    // A new incarnation at either end is a new channel, counting from zero.
    const restarted = entry.generation !== generation || reading.count < entry.lastCount;
    if (restarted) {
      entry.generation = generation;
      entry.lastCount = entry.lastSumMs = 0;
      entry.last.fill(0);
    }
    const newCalls = reading.count - entry.lastCount;
    entry.count += newCalls;
    entry.sumMs += reading.sumMs - entry.lastSumMs;
    // Counts only grow within a channel, and the reading lists every bucket that is not empty.
    for (let i = 0; i < reading.buckets.length; i += 2) {
      const bucket = reading.buckets[i]!;
      const delta = reading.buckets[i + 1]! - entry.last[bucket]!;
      if (delta === 0) continue;
      entry.last[bucket] = reading.buckets[i + 1]!;
      entry.buckets[bucket]! += delta;
      if (weight === 0) continue;
      entry.recent[bucket]! += delta * weight;
      entry.methodWindow.recent[bucket]! += delta * weight;
      entry.quantiles = entry.methodWindow.quantiles = undefined;
    }
    if (elapsedMs > 0) {
      entry.recentCount += newCalls * weight;
      entry.callsPerSec = (newCalls * 1000) / (entry.lastAt > 0 ? Math.max(1, at - entry.lastAt) : elapsedMs);
      entry.ratedIn = this.#readings;
    }
    entry.lastReading = reading;
    entry.lastAt = at;
    entry.lastCount = reading.count;
    entry.lastSumMs = reading.sumMs;
    return entry;
  }
}

/** p50 and p99 of bucket counts, interpolated geometrically within the bucket (null when empty). */
export function quantiles(buckets: Float64Array): { p50Ms: number | null; p99Ms: number | null } {
  const total = totalOf(buckets);
  return { p50Ms: quantileOf(buckets, 0.5, total), p99Ms: quantileOf(buckets, 0.99, total) };
}

export function quantile(buckets: Float64Array, q: number): number | null {
  return quantileOf(buckets, q, totalOf(buckets));
}

function totalOf(buckets: Float64Array): number {
  let total = 0;
  for (const count of buckets) total += count;
  return total;
}

/** The latency below which a share `q` of the counts lie, `total` being their sum. */
function quantileOf(buckets: Float64Array, q: number, total: number): number | null {
  if (total <= 0) return null;
  const target = q * total;
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    const count = buckets[i]!;
    if (count <= 0) continue;
    if (seen + count >= target) {
      const upper = bucketUpperMs(i);
      const lower = i === 0 ? upper / 2 : bucketUpperMs(i - 1);
      return lower * (upper / lower) ** ((target - seen) / count);
    }
    seen += count;
  }
  return bucketUpperMs(buckets.length - 1);
}
