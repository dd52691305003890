/** Round-trip latency percentiles of one window, in µs. (A type, not an interface, so it is a `Sample`.) */
export type Latency = {
  readonly p50: number;
  readonly p99: number;
};

export function percentile(sorted: Float64Array, q: number): number;
export function pipelined(call: () => Promise<unknown>, inflight: number, durationMs: number): Promise<number>;
export function roundTrips(call: () => Promise<unknown>, count: number): Promise<Latency>;
export function notifyRate(
  oneWay: () => Promise<void>,
  awaited: () => Promise<unknown>,
  burst: number,
  durationMs: number,
): Promise<number>;
export function callMany(call: () => Promise<unknown>, count: number, inflight: number): Promise<void>;
export class SingleFlight {
  call(send: () => void): Promise<void>;
  settle(): void;
}
export function wallNow(): number;
