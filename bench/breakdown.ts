// Where one call at a time spends its time, between the raw ping-pong floor and a convoy cluster call:
//
//   node --import tsx bench/breakdown.ts [--pair coord-thread|thread-thread|coord-process|process-process]...
//                                        [--rounds 7] [--calls 2000] [--stamped 5000]
//
// Two short tables per pair (every pair unless --pair is given):
// 1. The ladder, interleaved (interleave.ts `rotate`: one window of each rung per round, the order rotating):
//    p50 of one call at a time over the raw floor (structured clone between threads, a msgpackr frame over
//    TCP), a msgpackr envelope transferred (threads), convoy's transport alone echoing a small frame,
//    convoy's Endpoint over a Channel over that transport (a whole call without a cluster), and the cluster
//    call. Each rung's step is the median over rounds of its p50 minus the rung below's. Between threads,
//    birpc over the same kind of port runs beside the rungs as a reference (the bench's birpc target).
// 2. The phases of a cluster call, from stamps (bench/stamps.mjs) taken in both ends: issued → frame posted
//    → frame received → handler start → reply posted → reply received → promise resolved; median and mean
//    over `--stamped` calls. A worker's control channel (coordinator↔worker) starts before the stamps can
//    wrap it, so for coord-* pairs "frame received" on the worker side is missing and the crossing and the
//    dispatch show as one phase. Across processes each crossing carries the two clocks' offset (one way
//    plus, the other minus); their sum does not.
// Uses the same convoy build as the bench (dist/ when up to date; see bench/scenarios/convoy.ts).

import { parseArgs } from 'node:util';
import { connect, connectHere, runOn, startHost, type Host } from './baselines/peer-host.js';
import type { PortProto } from './baselines/raw-loops.mjs';
import type { Latency } from './loops.mjs';
import { rotate, spread } from './interleave.js';
import { roundTrips } from './measure.js';
import { flavorLabel, spec, start, warmPath, type BenchApi, type Kind } from './scenarios/common.js';
import { loadLayers } from './layers.mjs';
import { STAMP, installStamps, recordStamps, stamp, takeStamps } from './stamps.mjs';

const { values: args } = parseArgs({
  options: {
    pair: { type: 'string', multiple: true, default: [] },
    rounds: { type: 'string', default: '7' },
    calls: { type: 'string', default: '2000' },
    stamped: { type: 'string', default: '5000' },
  },
});
const ALL = ['coord-thread', 'thread-thread', 'coord-process', 'process-process'];
const pairs = args.pair.length ? args.pair : ALL;
for (const p of pairs) if (!ALL.includes(p)) throw new Error(`--pair: expected one of ${ALL.join(', ')}, got ${p}`);
const rounds = Number(args.rounds);
const calls = Number(args.calls);
const stamped = Number(args.stamped);

// Stamps must wrap the transports before any starts: this process's now, the workers' at load.
process.env.CONVOY_BENCH_STAMPS = '1';
installStamps(await loadLayers());

interface Rung {
  name: string;
  p50(): Promise<number>;
  /** A reference beside the ladder (another library), not a step up it: no step is shown. */
  reference?: boolean;
}

async function ladder(pair: string, callee: Kind, caller: Kind | undefined, cluster: () => Promise<Latency>): Promise<string> {
  const hosts: Host[] = [];
  const closers: (() => void)[] = [];
  try {
    const to = await startHost(callee);
    hosts.push(to);
    const from = caller ? await startHost(caller) : undefined;
    if (from) hosts.push(from);
    const rung = async (name: string, proto: PortProto): Promise<Rung> => {
      if (from) {
        await connect(from, to, proto, proto);
        return { name, p50: async () => (await runOn(from, proto, 'rtt', calls)).p50 };
      }
      const here = await connectHere(to, proto);
      closers.push(() => here.close());
      return { name, p50: async () => (await here.caller.rtt(calls)).p50 };
    };
    const threads = callee === 'thread';
    const rungs: Rung[] = [
      await rung(threads ? 'raw port, structured clone' : 'raw TCP, msgpackr frame', threads ? 'clone' : 'msgpackr'),
      ...(threads ? [await rung('raw port, msgpackr envelope transferred', 'msgpackr')] : []),
      await rung('convoy transport only, 24-byte frame echoed', 'convoy-transport'),
      await rung('convoy Endpoint + Channel + transport (no cluster)', 'convoy-endpoint'),
      { name: 'convoy cluster call', p50: async () => (await cluster()).p50 },
      ...(threads ? [{ ...(await rung('birpc (reference, not a rung)', 'birpc')), reference: true }] : []),
    ];
    const got = await rotate(
      rungs.map((r) => () => r.p50()),
      rounds,
      2,
    );
    const rows = rungs.map((r, i) => {
      const p50 = spread(got.map((round) => round[i]!));
      const vsFloor = spread(got.map((round) => round[i]! / round[0]!));
      const step = i === 0 || r.reference ? undefined : spread(got.map((round) => round[i]! - round[i - 1]!));
      return [
        r.name,
        p50.median.toFixed(1),
        `${vsFloor.median.toFixed(2)}×`,
        step ? `${step.median >= 0 ? '+' : ''}${step.median.toFixed(1)} (${step.min.toFixed(1)} – ${step.max.toFixed(1)})` : '',
      ];
    });
    return table(
      `${pair}: one call at a time, p50 µs, ${rounds} interleaved rounds of ${calls} calls`,
      ['rung', 'p50 µs', 'vs floor', 'step µs (range)'],
      rows,
    );
  } finally {
    for (const c of closers) c();
    for (const h of hosts) await h.close();
  }
}

/** Phases of each stamped call, from both ends' stamps (flat [code, time, …] lists). */
function phases(callerStamps: number[], calleeStamps: number[]): string[][] {
  const times = (list: number[], code: number) => list.flatMap((c, i) => (i % 2 === 0 && c === code ? [list[i + 1]!] : []));
  const issued = times(callerStamps, STAMP.issued);
  const resolved = times(callerStamps, STAMP.resolved);
  const posted = times(callerStamps, STAMP.posted);
  const received = times(callerStamps, STAMP.received);
  const handler = times(calleeStamps, STAMP.handler);
  const wPosted = times(calleeStamps, STAMP.posted);
  const wReceived = times(calleeStamps, STAMP.received);
  const firstAtOrAfter = (xs: number[], t: number) => xs.find((x) => x >= t);
  const lastAtOrBefore = (xs: number[], t: number): number | undefined => {
    for (let i = xs.length - 1; i >= 0; i--) if (xs[i]! <= t) return xs[i];
    return undefined;
  };
  const split = wReceived.length > 0;
  const names = [
    'issued → frame posted',
    ...(split
      ? ['frame posted → frame received', 'frame received → handler start']
      : ['frame posted → handler start (crossing + dispatch)']),
    'handler start → reply posted',
    'reply posted → reply received',
    'reply received → promise resolved',
    'total: issued → resolved',
  ];
  const samples: number[][] = names.map(() => []);
  const n = Math.min(issued.length, resolved.length, handler.length);
  for (let i = 0; i < n; i++) {
    const I = issued[i]!;
    const Z = resolved[i]!;
    const H = handler[i]!;
    const P = firstAtOrAfter(posted, I);
    const R = lastAtOrBefore(received, Z);
    const WP = firstAtOrAfter(wPosted, H);
    const WR = split ? lastAtOrBefore(wReceived, H) : undefined;
    if (P === undefined || R === undefined || WP === undefined || (split && WR === undefined) || P > Z || R < I) continue;
    const values = [P - I, ...(split ? [WR! - P, H - WR!] : [H - P]), WP - H, R - WP, Z - R, Z - I];
    for (const [k, v] of values.entries()) samples[k]!.push(v * 1000);
  }
  return names.map((name, k) => {
    const xs = samples[k]!;
    const mean = xs.reduce((a, b) => a + b, 0) / (xs.length || 1);
    return [name, xs.length ? spread(xs).median.toFixed(1) : '–', xs.length ? mean.toFixed(1) : '–', String(xs.length)];
  });
}

function table(title: string, header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  return [title, ...all.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '))].join('\n');
}

for (const pair of pairs) {
  const [callerPart, calleeKind] = pair.split('-') as [string, Kind];
  const callerKind = callerPart === 'coord' ? undefined : (callerPart as Kind);
  const cluster = await start(callerKind ? [spec('caller', callerKind), spec('callee', calleeKind)] : [spec('callee', calleeKind)]);
  try {
    const callee = cluster.worker<BenchApi>('callee');
    const caller = callerKind ? cluster.worker<BenchApi>('caller') : undefined;
    // Warm convoy's path (V8 optimises it after tens of thousands of calls), as the bench does.
    await warmPath(callee, caller);
    const clusterRtt = (): Promise<Latency> => (caller ? caller.pingPeer('callee', calls) : roundTrips(() => callee.inc(1), calls));
    console.log(`${await ladder(pair, calleeKind, callerKind, clusterRtt)}\n`);

    await callee.stamps(true);
    if (caller) {
      await caller.stamps(true);
      await caller.stampedPing('callee', stamped);
    } else {
      recordStamps(true);
      for (let i = 0; i < stamped; i++) {
        stamp(STAMP.issued);
        await callee.stampedInc(1);
        stamp(STAMP.resolved);
      }
      recordStamps(false);
    }
    const callerStamps = caller ? (await caller.stamps(false))! : takeStamps();
    const calleeStamps = (await callee.stamps(false))!;
    console.log(
      `${table(`${pair}: phases of a cluster call (${flavorLabel}), µs over ${stamped} stamped calls`, ['phase', 'median', 'mean', 'calls'], phases(callerStamps, calleeStamps))}\n`,
    );
  } finally {
    await cluster.close();
  }
}
