// The measuring loops every caller runs: the coordinator (TypeScript, through measure.ts), the bench's
// convoy worker (fixtures/bench-worker.mjs) and the raw peer hosts (baselines/peer-host.mjs). Plain .mjs so
// that a compiled worker, which has no tsx, runs the very same code; types in loops.d.mts.

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted, q) {
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1];
}

/**
 * Completions between two reads of the clock in `pipelined`. A read per call was ~10% of convoy's
 * pipelined figure (1.105×, 16 interleaved pairs of 500 ms windows, coordinator → thread): a cost of the
 * harness that every arm with a promise per call paid (convoy, birpc, comlink, the floors) and the batched
 * raw arms, which read it once per batch of 250 replies, did not.
 */
const CLOCK_EVERY = 64;

/**
 * Keeps `inflight` calls outstanding for `durationMs`, a new one as each completes; completed calls/s
 * over the time it really took. The deadline is checked every CLOCK_EVERY completions (every one when
 * fewer are in flight), so a window ends at most that many completions late.
 */
export function pipelined(call, inflight, durationMs) {
  const every = Math.min(CLOCK_EVERY, inflight);
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const deadline = start + durationMs;
    let completed = 0;
    let outstanding = 0;
    let untilCheck = every;
    let open = true;
    const onDone = () => {
      completed++;
      outstanding--;
      if (--untilCheck === 0) {
        untilCheck = every;
        open = performance.now() < deadline;
      }
      if (open) issue();
      else if (outstanding === 0) resolve((completed * 1000) / (performance.now() - start));
    };
    const issue = () => {
      outstanding++;
      call().then(onDone, reject);
    };
    for (let i = 0; i < inflight; i++) issue();
  });
}

/** Times `count` sequential awaited calls; p50/p99 in µs (nearest rank). */
export async function roundTrips(call, count) {
  const us = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await call();
    us[i] = (performance.now() - t0) * 1000;
  }
  us.sort();
  return { p50: percentile(us, 0.5), p99: percentile(us, 0.99) };
}

/**
 * One-way throughput: bursts of `burst` notifies, one burst per event-loop turn (awaiting the last one's
 * acceptance, so backpressure is respected), for `durationMs`; then one awaited call, which arrives after
 * every notify (same channel, same order). Notifies handled per second, flush included.
 */
export async function notifyRate(oneWay, awaited, burst, durationMs) {
  const start = performance.now();
  const deadline = start + durationMs;
  let sent = 0;
  while (performance.now() < deadline) {
    let last;
    for (let i = 0; i < burst; i++) last = oneWay();
    sent += burst;
    await last;
    await new Promise((resolve) => setImmediate(resolve));
  }
  await awaited();
  return (sent * 1000) / (performance.now() - start);
}

/** Makes `count` calls with `inflight` in flight; resolves when all are answered. */
export function callMany(call, count, inflight) {
  return new Promise((resolve, reject) => {
    let issued = 0;
    let done = 0;
    const onDone = () => {
      if (++done === count) resolve();
      else if (issued < count) issue();
    };
    const issue = () => {
      issued++;
      call().then(onDone, reject);
    };
    for (let i = 0; i < Math.min(inflight, count); i++) issue();
  });
}

/**
 * A one-at-a-time caller over a raw duplex: `call(send)` posts one request, and the transport's reply
 * handler calls `settle()`. Only latency loops use it, so one pending slot is enough.
 */
export class SingleFlight {
  #settle = () => {};

  call(send) {
    return new Promise((resolve) => {
      this.#settle = resolve;
      send();
    });
  }

  settle() {
    this.#settle();
  }
}

/** Wall-clock ms with sub-ms precision, comparable across the threads and processes of one machine. */
export const wallNow = () => performance.timeOrigin + performance.now();
