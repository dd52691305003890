// Ordered awaited calls over every kind of pair, pipelined (INFLIGHT in flight) and one at a time, and
// one-way notify throughput.
//   coord-thread, coord-process     the coordinator calls a worker (loops from bench/measure.ts)
//   thread-thread, process-process  a worker calls its peer over their direct channel; the loop runs in
//                                   the calling worker (bench/fixtures/bench-worker.mjs, same loops)
// The three scenarios of one pair run on one cluster, started by the first and closed after the last.

import type { Cluster, Remote as RemoteOf } from '../../src/index.js';
import { withFixture, type RunOptions, type Scenario } from '../harness.js';
import { INFLIGHT, RateMeter, pipelineMs, pipelined, roundTripCount, roundTrips } from '../measure.js';
import { GROUPS, QUICK, callMany, convoy, shared, spec, start, type BenchApi, type Kind } from './common.js';

type Remote = RemoteOf<BenchApi>;

interface Pair {
  /** Scenario name part, e.g. `thread-thread`. */
  readonly id: string;
  /** Callee kind; `caller` undefined means the coordinator calls. */
  readonly callee: Kind;
  readonly caller?: Kind;
  readonly baselines: { pipelined: string; rtt: string };
}

const PAIRS: Pair[] = [
  { id: 'coord-thread', callee: 'thread', baselines: { pipelined: 'birpc/pipelined', rtt: 'port/pingpong/rtt' } },
  { id: 'thread-thread', caller: 'thread', callee: 'thread', baselines: { pipelined: 'birpc/pipelined', rtt: 'port/pingpong/rtt' } },
  { id: 'coord-process', callee: 'process', baselines: { pipelined: 'tcp/batch-msgpackr/pipelined', rtt: 'tcp/pingpong/rtt' } },
  {
    id: 'process-process',
    caller: 'process',
    callee: 'process',
    baselines: { pipelined: 'tcp/batch-msgpackr/pipelined', rtt: 'tcp/pingpong/rtt' },
  },
];

interface PairFixture {
  cluster: Cluster;
  /** The callee, seen from the coordinator. */
  callee: Remote;
  /** The calling worker, when a worker calls its peer. */
  caller?: Remote;
}

/**
 * Calls each new pair cluster makes before the harness's own warm-up repetition. convoy's path is much
 * longer than a raw echo's, and in a freshly started process V8 needs tens of thousands of calls (seconds,
 * on a loaded 2-core machine) before it runs optimised code: without this, a 250 ms quick repetition
 * measures the interpreter (seen: process↔process at 4–15k calls/s for the first second, 300k+ after).
 */
const WARM_CALLS = QUICK ? 10_000 : 50_000;

async function warm(c: Cluster, pair: Pair): Promise<void> {
  const callee = c.worker<BenchApi>('callee');
  await callMany(() => callee.inc(1), WARM_CALLS);
  if (pair.caller) {
    // The caller worker's own loop, until it has made about WARM_CALLS calls.
    const caller = c.worker<BenchApi>('caller');
    for (let made = 0; made < WARM_CALLS; ) made += ((await caller.benchPeer('callee', 100, INFLIGHT)) * 100) / 1000;
  }
}

/** The pipelined, rtt and notify scenarios of a pair share one cluster (see `shared`). */
function pairCluster(pair: Pair) {
  const workers = pair.caller ? [spec('caller', pair.caller), spec('callee', pair.callee)] : [spec('callee', pair.callee)];
  const cluster = shared(async () => {
    const c = await start(workers);
    await warm(c, pair);
    return c;
  });
  return {
    async open(): Promise<PairFixture> {
      const c = await cluster.acquire();
      const fx: PairFixture = { cluster: c, callee: c.worker<BenchApi>('callee') };
      if (pair.caller) fx.caller = c.worker<BenchApi>('caller');
      return fx;
    },
    close: (): Promise<void> => cluster.release(),
  };
}

/**
 * The coordinator's notify loop, as bench-worker.mjs's `notifyRate`: bursts of INFLIGHT notifies, one
 * burst per event-loop turn (awaiting the last one's acceptance: backpressure), then one awaited call.
 */
async function notifyRate(remote: Remote, burst: number, durationMs: number): Promise<number> {
  const oneWay = convoy.notify<BenchApi>(remote);
  const meter = new RateMeter(durationMs);
  let last: Promise<void> | undefined;
  while (meter.open) {
    for (let i = 0; i < burst; i++) last = oneWay.inc(1);
    meter.completed += burst;
    await last;
    await new Promise((resolve) => setImmediate(resolve));
  }
  await remote.get();
  return meter.perSecond();
}

function pairScenarios(pair: Pair): Scenario[] {
  const name = `convoy/${pair.id}`;
  const tput = { group: GROUPS.calls, unit: 'calls/s', higherIsBetter: true } as const;
  const lat = { group: GROUPS.calls, unit: 'µs', higherIsBetter: false } as const;
  const { open, close: closePair } = pairCluster(pair);
  const pipelinedRun = (fx: PairFixture, o: RunOptions): Promise<number> =>
    fx.caller ? fx.caller.benchPeer('callee', pipelineMs(o), INFLIGHT) : pipelined(() => fx.callee.inc(1), INFLIGHT, pipelineMs(o));
  const rttRun = (fx: PairFixture, o: RunOptions) =>
    fx.caller ? fx.caller.pingPeer('callee', roundTripCount(o)) : roundTrips(() => fx.callee.inc(1), roundTripCount(o));
  const notifyRun = (fx: PairFixture, o: RunOptions): Promise<number> =>
    fx.caller ? fx.caller.benchNotify('callee', pipelineMs(o), INFLIGHT) : notifyRate(fx.callee, INFLIGHT, pipelineMs(o));
  return [
    withFixture(
      { name: `${name}/pipelined`, ...tput, baseline: pair.baselines.pipelined },
      { open, measure: pipelinedRun, close: closePair },
    ),
    withFixture({ name: `${name}/rtt`, ...lat, baseline: pair.baselines.rtt }, { open, measure: rttRun, close: closePair }),
    withFixture(
      { name: `${name}/notify`, group: GROUPS.notify, unit: 'calls/s', higherIsBetter: true, baseline: `${name}/pipelined` },
      { open, measure: notifyRun, close: closePair },
    ),
  ];
}

const all = PAIRS.map(pairScenarios);
/** Calls first (pipelined + rtt per pair), then notifies, so the table groups them. */
export const callScenarios: Scenario[] = [...all.flatMap((s) => s.slice(0, 2)), ...all.map((s) => s[2]!)];
