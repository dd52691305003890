// Window lengths and the loops every measurement uses (the loops themselves live in loops.mjs, so that
// compiled workers, which have no tsx, run the same code).

import type { RunOptions } from './harness.js';

export { SingleFlight, callMany, notifyRate, percentile, pipelined, roundTrips, wallNow, type Latency } from './loops.mjs';

/** Calls kept in flight by the pipelined measurements. */
export const INFLIGHT = 1000;

/** Length of one pipelined window. */
export function pipelineMs(opts: RunOptions): number {
  return opts.quick ? 100 : 150;
}

/** Round trips timed by one latency window. */
export function roundTripCount(opts: RunOptions): number {
  return opts.quick ? 500 : 1000;
}
