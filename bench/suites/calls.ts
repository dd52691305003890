// Calls and notifies per pair, each against its strongest raw floor and the RPC libraries, interleaved.
//   coord-thread, coord-process     the coordinator calls a worker; each raw baseline is called from the main
//                                   thread of a process of its own (rawLink says why)
//   thread-thread, process-process  a worker calls its peer over their direct channel, timed in the calling
//                                   worker; each raw baseline runs between two peer hosts of its own, of the
//                                   same kinds, timed in the calling host
// One suite per pair: one convoy cluster and the raw hosts, all alive while its comparisons run.

import type { Cluster, Remote } from '../../src/index.js';
import { connect, runOn, startHost, type Host } from '../baselines/peer-host.js';
import type { PortProto } from '../baselines/raw-loops.mjs';
import type { Latency } from '../loops.mjs';
import type { RunOptions } from '../harness.js';
import type { Arm, Comparison, Suite } from '../interleave.js';
import type { TargetSpec } from '../targets.js';
import { INFLIGHT, notifyRate, pipelineMs, pipelined, roundTripCount, roundTrips } from '../measure.js';
import { WARM_CALLS, convoy, flavorLabel, spec, start, warmOneAtATime, type BenchApi, type Kind } from '../scenarios/common.js';

interface Pair {
  /** e.g. `thread-thread`. */
  readonly id: string;
  /** `↔` spelling for target names. */
  readonly label: string;
  readonly callee: Kind;
  /** Undefined: the coordinator calls. */
  readonly caller?: Kind;
}

const PAIRS: Pair[] = [
  { id: 'coord-thread', label: 'coord↔thread', callee: 'thread' },
  { id: 'thread-thread', label: 'thread↔thread', caller: 'thread', callee: 'thread' },
  { id: 'coord-process', label: 'coord↔process', callee: 'process' },
  { id: 'process-process', label: 'process↔process', caller: 'process', callee: 'process' },
];

/** The three convoy arms of a pair: pipelined calls, one call at a time, notifies. */
async function convoyArms(pair: Pair, opts: RunOptions): Promise<{ arms: Record<'pipelined' | 'rtt' | 'notify', Arm>; cluster: Cluster }> {
  const workers = pair.caller ? [spec('caller', pair.caller), spec('callee', pair.callee)] : [spec('callee', pair.callee)];
  const cluster = await start(workers);
  const callee: Remote<BenchApi> = cluster.worker<BenchApi>('callee');
  const caller = pair.caller ? cluster.worker<BenchApi>('caller') : undefined;
  await warmOneAtATime(callee, caller);
  const oneWay = convoy.notify<BenchApi>(callee);
  const name = (mode: string) => `convoy/${pair.id}/${mode}`;
  return {
    cluster,
    arms: {
      pipelined: {
        name: name('pipelined'),
        unit: 'calls/s',
        window: () =>
          caller ? caller.benchPeer('callee', pipelineMs(opts), INFLIGHT) : pipelined(() => callee.inc(1), INFLIGHT, pipelineMs(opts)),
      },
      rtt: {
        name: name('rtt'),
        unit: 'µs',
        window: () => (caller ? caller.pingPeer('callee', roundTripCount(opts)) : roundTrips(() => callee.inc(1), roundTripCount(opts))),
      },
      notify: {
        name: name('notify'),
        unit: 'calls/s',
        window: () =>
          caller
            ? caller.benchNotify('callee', pipelineMs(opts), INFLIGHT)
            : notifyRate(
                () => oneWay.inc(1),
                () => callee.get(),
                INFLIGHT,
                pipelineMs(opts),
              ),
      },
    },
  };
}

/** A raw protocol between the same kinds as the pair: `rtt` and `pipelined` arms timed by the caller. */
interface RawLink {
  rtt: Arm;
  pipelined: Arm;
  /**
   * WARM_CALLS round trips, as convoy's cluster makes (warmOneAtATime) before its first window: V8 needs
   * that many before either side runs optimised. With eight warm windows alone (8 000 calls), the smallest
   * encoding RPC read 1.29× the raw ping-pong in its first comparison of an open and 1.07× as convoy's
   * baseline in the next (34.9 and 27.0 µs).
   */
  warmOneAtATime(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Node flags of the processes of the raw pipelined arms: raw batched records and the promise-per-call
 * floors (records-rpc, minimal-rpc, clone-rpc), as fast as V8 lets them be. A pipelined loop in a process
 * that has sat idle, as each does through its suite's other comparisons, runs far below its speed,
 * window after window: coord→thread records-rpc made 2.3–2.8M calls/s warmed up, but 0.9–1.1M after 20 s
 * idle, and 1.0–1.3M when its process had idled 20 s before its first call; in the bench, raw records
 * read 3.0–3.2M calls/s without the flags and 4.8–5.6M with them. Which flags cure it says why: a young
 * generation that cannot shrink (`--min-semi-space-size=16`) cured the first case, and the second needed
 * V8's memory reducer off too. The one-at-a-time floors (clone, msgpackr) and the libraries run without
 * them: a ping-pong warms up slower with them (msgpackr over TCP, one CPU: ~12 windows of 1 000 round
 * trips at 55–70 µs before settling at 38 µs, against 2 without), and birpc's one-at-a-time windows were
 * slower with them too. convoy runs without them: on its own it was back at speed within a second of
 * either idle spell, and the flags make it ~7% faster (1.07×, 40 interleaved pairs of coord→thread
 * pipelined windows).
 */
const PIPELINED_FLAGS = ['--min-semi-space-size=16', '--no-memory-reducer'];
const isPipelinedRaw = (proto: PortProto): boolean => proto === 'records' || proto.endsWith('-rpc');

/**
 * Unmeasured rounds (one window of each arm) before a comparison's first pair. One was not enough: in two
 * full runs (0de94aa, 5ca4763) the raw batched arm of each suite's first pipelined comparison, its process
 * idle through the one-at-a-time comparisons before it, read 1.4–1.6M calls/s in its first measured window
 * and 2.8–3.1M from the fourth to sixth on, and convoy 1.45–1.6M then 1.9M. The first pairs' ratios
 * (0.78–1.11 against ~0.6 after) lifted convoy's median by 0.005–0.03 (0.623 → 0.613 without the first
 * four pairs coordinator → thread, 0.993 → 0.974 process → process); birpc's and clone-rpc's first
 * one-at-a-time windows are slow the same way. With four rounds convoy's arm was the one still warming
 * (1.5–1.8M calls/s in its first measured windows, then 1.9–2.0M); with eight neither was (coordinator →
 * thread, one run each). Warm-up must not favour either arm.
 */
const WARM_ROUNDS = 8;

/**
 * Each calls suite is opened this many times, each in a process of its own, with a third of the pairs
 * each: a process's own state moves one call at a time by several percent for all its windows, which the
 * alternation within one open cannot see (opens.ts has the figures).
 */
const OPENS = 3;

/**
 * A suite's one-at-a-time comparisons run before its pipelined and notify ones, and its convoy cluster is
 * warmed one call at a time (warmOneAtATime), so that every arm's process — convoy's coordinator and
 * workers as much as each baseline's own process — has run no flood when its round trips are timed. A flood
 * grows V8's young generation (to 16 MB), and a process keeps it that size while it goes on allocating,
 * which one call at a time does. `node --import tsx bench/heap-rtt.ts` (one CPU, coordinator → thread, a
 * convoy cluster against birpc in a process of its own, 12 interleaved rounds of 1 000 calls, load ~1):
 * both fresh, convoy / birpc 0.997 (q1–q3 0.97–1.01; 0.97 and 1.02 in two earlier runs); after 30 rounds of
 * pipelined and notify windows on convoy's cluster (`--flood 30`), 1.051 (1.03–1.10); with convoy's threads
 * started with `--min-semi-space-size=16` and no flood, 1.110 (convoy 35.3 µs against 29.6 µs fresh); with
 * birpc's process started so too, 1.049 (0.99 and 1.03 before). In the order the comparisons were written,
 * with a pipelined warm-up, the suite timed convoy's round trips after floods and birpc's before any, and
 * read 1.05–1.07×.
 */
const oneAtATimeFirst = (comparisons: Comparison[]): Comparison[] => [
  ...comparisons.filter((c) => c.subject.unit === 'µs'),
  ...comparisons.filter((c) => c.subject.unit !== 'µs'),
];

/**
 * Each raw protocol runs in a process of its own, never in this one: arms that
 * share a V8 heap change each other's speed (an allocation-heavy arm grows the young generation, a
 * promise-per-call arm beside it then promotes megabytes per scavenge: records-rpc made 1.1M calls/s beside
 * raw records in one process and 2.4M alone). The caller is that process's main thread (coordinator pairs)
 * or a thread of it (thread↔thread); the callee a thread of it, or another such process (TCP). convoy's
 * coordinator arms stay here, alone in this heap with the harness.
 */
async function rawLink(pair: Pair, proto: PortProto, opts: RunOptions): Promise<RawLink> {
  const family = proto === 'birpc' || proto === 'comlink' ? proto : pair.callee === 'thread' ? 'port' : 'tcp';
  const name = (mode: string) => `${family}/${pair.id}${family === proto ? '' : `/${proto}`}/${mode}`;
  const hosts: Host[] = [];
  const close = async (): Promise<void> => {
    for (const host of hosts.reverse()) await host.close();
  };
  try {
    const execArgv = isPipelinedRaw(proto) ? PIPELINED_FLAGS : [];
    const from = await startHost('process', { execArgv });
    hosts.push(from);
    const conn = proto;
    if (pair.callee === 'thread') await from.request({ op: pair.caller ? 'connect-threads' : 'connect-thread', conn, proto });
    else {
      const to = await startHost('process', { execArgv });
      hosts.push(to);
      await connect(from, to, conn, proto);
    }
    const rtt = (): Promise<Latency> => runOn(from, conn, 'rtt', roundTripCount(opts));
    const warmOneAtATime = async (): Promise<void> => void (await runOn(from, conn, 'rtt', WARM_CALLS));
    const tput = (): Promise<number> => runOn(from, conn, 'pipelined', pipelineMs(opts));
    return {
      rtt: { name: name('rtt'), unit: 'µs', window: rtt },
      pipelined: { name: name('pipelined'), unit: 'calls/s', window: tput },
      warmOneAtATime,
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

const ratio = (what: string, op: TargetSpec['op'], bound: number, metric?: string): TargetSpec => ({
  what,
  op,
  bound,
  ...(metric ? { metric } : {}),
});

function pairSuite(pair: Pair): Suite {
  const threads = pair.callee === 'thread';
  return {
    name: `calls/${pair.id}`,
    group: `calls ${pair.label} (convoy ${flavorLabel})`,
    opens: OPENS,
    async open(opts) {
      const closers: (() => Promise<void> | void)[] = [];
      const close = async (): Promise<void> => {
        for (const c of closers.reverse()) await c();
      };
      try {
        const { arms: c, cluster } = await convoyArms(pair, opts);
        closers.push(() => cluster.close());
        /** A raw link; `oneAtATime`: its rtt arm is measured, so it is warmed as convoy's cluster was. */
        const raw = async (proto: PortProto, oneAtATime = false): Promise<RawLink> => {
          const link = await rawLink(pair, proto, opts);
          closers.push(() => link.close());
          if (oneAtATime) await link.warmOneAtATime();
          return link;
        };
        // The one-at-a-time floor: structured clone between threads, a msgpackr frame over TCP.
        const floor = await raw(threads ? 'clone' : 'msgpackr', true);
        const batched = await raw('records');
        const L = pair.label;
        const comparisons: Comparison[] = [
          // One at a time on one CPU (bench/pin.ts says why), then as the scheduler places the threads: a
          // figure only, because there each window's ratio depends on which arm's thread shares the caller's CPU.
          {
            subject: c.rtt,
            baseline: floor.rtt,
            oneCpu: true,
            targets: [
              ratio(
                `${L} one at a time p50 ≤ ${threads ? 1.2 : 1.15}× raw ${threads ? 'port' : 'TCP'} ping-pong (one CPU)`,
                '<=',
                threads ? 1.2 : 1.15,
                'p50',
              ),
              ratio(`${L} one at a time p99 ≤ 2× raw p99 (one CPU)`, '<=', 2, 'p99'),
            ],
          },
          { subject: c.rtt, baseline: floor.rtt },
          {
            subject: c.pipelined,
            baseline: batched.pipelined,
            targets: [ratio(`${L} pipelined ≥ 0.7× raw batched ${threads ? 'port' : 'TCP'} (records, overlapped)`, '>=', 0.7)],
          },
          { subject: c.notify, baseline: c.pipelined, targets: [ratio(`${L} notify ≥ 2× its pipelined calls`, '>=', 2)] },
        ];
        // Where the gaps to the raw baselines go (baselines/rpc-floors.mjs): pipelined, a promise per call,
        // then each call encoded on its own; one at a time, the smallest msgpackr RPC against the raw
        // ping-pong. And convoy against that smallest RPC.
        const promisePerCall = await raw('records-rpc');
        const encodedPerCall = await raw('minimal-rpc', true);
        comparisons.push(
          { subject: promisePerCall.pipelined, baseline: batched.pipelined },
          { subject: encodedPerCall.pipelined, baseline: batched.pipelined },
          { subject: c.pipelined, baseline: encodedPerCall.pipelined },
          { subject: encodedPerCall.rtt, baseline: floor.rtt, oneCpu: true },
          { subject: c.rtt, baseline: encodedPerCall.rtt, oneCpu: true },
        );
        if (threads) {
          // The same smallest RPC with its messages structured-cloned instead of encoded: the codec's share.
          const clonedPerCall = await raw('clone-rpc', true);
          comparisons.push({ subject: clonedPerCall.rtt, baseline: floor.rtt, oneCpu: true });
        }
        if (threads) {
          const birpc = await raw('birpc', true);
          const comlink = await raw('comlink');
          comparisons.push(
            {
              subject: c.rtt,
              baseline: birpc.rtt,
              oneCpu: true,
              targets: [ratio(`${L} one at a time p50 faster than birpc (one CPU)`, '<=', 1, 'p50')],
            },
            { subject: c.pipelined, baseline: comlink.pipelined, targets: [ratio(`${L} pipelined ≥ 10× comlink`, '>=', 10)] },
            { subject: c.pipelined, baseline: birpc.pipelined, targets: [ratio(`${L} pipelined ≥ 5× birpc`, '>=', 5)] },
          );
        }
        if (pair.id === 'coord-thread' || pair.id === 'coord-process') {
          // A vs A: the same arm as subject and baseline. The ratios must come out ~1 with a narrow spread,
          // or the method (window length, warm-up, alternation) cannot separate the targets' margins.
          const calib = (arm: Arm, metric?: string): Comparison => ({
            subject: arm,
            baseline: arm,
            oneCpu: metric !== undefined,
            targets: [ratio(`calibration: ${arm.name}${metric ? ` ${metric} (one CPU)` : ''} A vs A`, '≈', 0.1, metric)],
          });
          comparisons.push(calib(c.rtt, 'p50'), calib(floor.rtt, 'p50'));
          if (pair.id === 'coord-thread') comparisons.push(calib(c.pipelined));
        }
        return { comparisons: oneAtATimeFirst(comparisons).map((c) => ({ warmWindows: WARM_ROUNDS, ...c })), close };
      } catch (e) {
        await close();
        throw e;
      }
    },
  };
}

export const callSuites: Suite[] = PAIRS.map(pairSuite);
