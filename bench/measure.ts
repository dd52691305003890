// The two measurements every RPC path gets: throughput with many calls in flight, and one-at-a-time latency.

import type { RunOptions } from './harness.js';

/** Calls kept in flight by the pipelined measurements. */
export const INFLIGHT = 1000;

/** Length of one pipelined repetition. */
export function pipelineMs(opts: RunOptions): number {
  return opts.quick ? 250 : 750;
}

/** Round trips timed by one latency repetition. */
export function roundTripCount(opts: RunOptions): number {
  return opts.quick ? 1500 : 5000;
}

/** Round-trip latency percentiles of one repetition, in µs. (A type, not an interface, so it is a `Sample`.) */
export type Latency = {
  readonly p50: number;
  readonly p99: number;
};

/**
 * Counts completions over a fixed time. Drivers send while `open`, stop sending when it closes,
 * and report `perSecond()` once their in-flight work has drained.
 */
export class RateMeter {
  readonly #start = performance.now();
  readonly #deadline: number;
  completed = 0;

  constructor(durationMs: number) {
    this.#deadline = this.#start + durationMs;
  }

  get open(): boolean {
    return performance.now() < this.#deadline;
  }

  perSecond(): number {
    return (this.completed * 1000) / (performance.now() - this.#start);
  }
}

/** Keeps `inflight` calls outstanding, starting a new one as each completes; resolves completed calls/s. */
export function pipelined(call: () => Promise<unknown>, inflight: number, durationMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const meter = new RateMeter(durationMs);
    let outstanding = 0;
    const onDone = (): void => {
      meter.completed++;
      outstanding--;
      if (meter.open) issue();
      else if (outstanding === 0) resolve(meter.perSecond());
    };
    const issue = (): void => {
      outstanding++;
      call().then(onDone, reject);
    };
    for (let i = 0; i < inflight; i++) issue();
  });
}

/** Times `count` sequential awaited calls. */
export async function roundTrips(call: () => Promise<unknown>, count: number): Promise<Latency> {
  const us = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await call();
    us[i] = (performance.now() - t0) * 1000;
  }
  us.sort();
  return { p50: percentile(us, 0.5), p99: percentile(us, 0.99) };
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: Float64Array, q: number): number {
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1]!;
}

/**
 * A one-at-a-time caller over a raw duplex: `send()` posts one request, and the transport's reply handler
 * calls `settle()`. Only the latency measurements use it, so a single pending slot is enough.
 */
export class SingleFlight {
  #settle: () => void = () => {};

  call(send: () => void): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#settle = resolve;
      send();
    });
  }

  settle(): void {
    this.#settle();
  }
}
