/**
 * Call latency per caller, callee and method, merged from the channels' cumulative bucket counts: totals
 * since the dashboard first read them (for /metrics histograms) and a window that fades with a
 * RECENT_TAU_MS time constant (for the page's p50 and p99, which should follow what happens now).
 */
import { BUCKET_COUNT, bucketUpperMs, type MethodLatency } from '../rpc/call-latency.js';
import type { LatencyRow } from './snapshot.js';

/** How fast old calls fade from the recent window: after this long a call weighs 1/e. */
const RECENT_TAU_MS = 5000;

export interface LatencyTotals {
  caller: string;
  callee: string;
  method: string;
  count: number;
  sumMs: number;
  buckets: Float64Array;
}

interface Entry extends LatencyTotals {
  generation: string;
  /** The channel's cumulative reading last time, to take differences from, and when it was taken. */
  lastAt: number;
  lastCount: number;
  lastSumMs: number;
  readonly last: Float64Array;
  /** Decayed counts and their rate of arrival. */
  readonly recent: Float64Array;
  recentCount: number;
  callsPerSec: number;
}

export class LatencyBook {
  readonly #entries = new Map<string, Entry>();

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
    const decay = elapsedMs > 0 ? Math.exp(-elapsedMs / RECENT_TAU_MS) : 1;
    for (const entry of this.#entries.values()) {
      for (let i = 0; i < BUCKET_COUNT; i++) entry.recent[i]! *= decay;
      entry.recentCount *= decay;
      entry.callsPerSec = 0;
    }
    for (const reading of readings) {
      for (const method of reading.latency) this.#ingestMethod(reading.from, reading.to, reading.generation, method, at, elapsedMs);
    }
  }

  /** Recent p50/p99 and rate per method (all callers and callees together) and per caller, callee and method. */
  rows(): { byMethod: LatencyRow[]; byPair: LatencyRow[] } {
    const byPair: LatencyRow[] = [];
    const merged = new Map<string, { recent: Float64Array; callsPerSec: number }>();
    for (const entry of this.#entries.values()) {
      if (entry.recentCount < 1e-3 && entry.callsPerSec === 0) continue;
      byPair.push({
        method: entry.method,
        caller: entry.caller,
        callee: entry.callee,
        callsPerSec: entry.callsPerSec,
        ...quantiles(entry.recent),
      });
      let sum = merged.get(entry.method);
      if (!sum) merged.set(entry.method, (sum = { recent: new Float64Array(BUCKET_COUNT), callsPerSec: 0 }));
      for (let i = 0; i < BUCKET_COUNT; i++) sum.recent[i]! += entry.recent[i]!;
      sum.callsPerSec += entry.callsPerSec;
    }
    const byMethod = [...merged].map(([method, sum]): LatencyRow => ({ method, callsPerSec: sum.callsPerSec, ...quantiles(sum.recent) }));
    byMethod.sort((a, b) => b.callsPerSec - a.callsPerSec || a.method.localeCompare(b.method));
    byPair.sort((a, b) => b.callsPerSec - a.callsPerSec);
    return { byMethod, byPair };
  }

  #ingestMethod(caller: string, callee: string, generation: string, reading: MethodLatency, at: number, elapsedMs: number): void {
    const key = `${caller}\u0000${callee}\u0000${reading.method}`;
    let entry = this.#entries.get(key);
    if (!entry) {
      entry = {
        caller,
        callee,
        method: reading.method,
        generation,
        count: 0,
        sumMs: 0,
        buckets: new Float64Array(BUCKET_COUNT),
        lastAt: 0,
        lastCount: 0,
        lastSumMs: 0,
        last: new Float64Array(BUCKET_COUNT),
        recent: new Float64Array(BUCKET_COUNT),
        recentCount: 0,
        callsPerSec: 0,
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
      if (elapsedMs > 0) entry.recent[bucket]! += delta;
    }
    if (elapsedMs > 0) {
      entry.recentCount += newCalls;
      entry.callsPerSec = (newCalls * 1000) / (entry.lastAt > 0 ? Math.max(1, at - entry.lastAt) : elapsedMs);
    }
    entry.lastAt = at;
    entry.lastCount = reading.count;
    entry.lastSumMs = reading.sumMs;
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
