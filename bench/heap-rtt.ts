// One call at a time, coordinator → thread, on one CPU: a convoy cluster against birpc in a process of its
// own (as the calls suites run it), after `--flood` rounds of pipelined and notify windows on the convoy
// cluster. Says what a flood earlier in the same process does to a later one-at-a-time figure: V8 grows a
// flooded process's young generation (to 16 MB) and keeps it that size while it goes on allocating, which
// one call at a time does (suites/calls.ts, `oneAtATimeFirst`, quotes what this measured).
//
//   npm run build && node --import tsx bench/heap-rtt.ts [--flood 30] [--rounds 12] [--calls 1000]
//   node --min-semi-space-size=16 --import tsx bench/heap-rtt.ts --host-args=--min-semi-space-size=16
//
// Node flags before the script apply to convoy's coordinator and its worker thread; `--host-args` to
// birpc's process. Every round runs one window of each arm, the order alternating, after 8 unmeasured
// rounds; prints each arm's median p50 and the median of the per-round ratios convoy / birpc.
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { runOn, startHost } from './baselines/peer-host.js';
import { rotate, spread } from './interleave.js';
import { INFLIGHT, notifyRate, pipelined, roundTrips } from './measure.js';
import { pinToOneCpu } from './pin.js';
import { convoy, spec, start, type BenchApi } from './scenarios/common.js';

const { values: args } = parseArgs({
  options: {
    flood: { type: 'string', default: '0' },
    rounds: { type: 'string', default: '12' },
    calls: { type: 'string', default: '1000' },
    'host-args': { type: 'string', default: '' },
  },
});
const rounds = Number(args.rounds);
const calls = Number(args.calls);

const host = await startHost('process', { execArgv: args['host-args'] ? args['host-args'].split(' ') : [] });
const cluster = await start([spec('callee', 'thread')]);
try {
  await host.request({ op: 'connect-thread', conn: 'birpc', proto: 'birpc' });
  const callee = cluster.worker<BenchApi>('callee');
  const oneWay = convoy.notify<BenchApi>(callee);
  for (let i = 0; i < Number(args.flood); i++) {
    await pipelined(() => callee.inc(1), INFLIGHT, 150);
    await notifyRate(
      () => oneWay.inc(1),
      () => callee.get(),
      INFLIGHT,
      150,
    );
  }
  const arms = [async () => (await roundTrips(() => callee.inc(1), calls)).p50, async () => (await runOn(host, 'birpc', 'rtt', calls)).p50];
  const unpin = pinToOneCpu();
  const got = await rotate(arms, rounds, 8).finally(unpin);
  const [c, b] = [spread(got.map((r) => r[0]!)), spread(got.map((r) => r[1]!))];
  const ratio = spread(got.map((r) => r[0]! / r[1]!));
  console.log(
    `flood ${args.flood} · ${rounds} rounds of ${calls} calls, one CPU · load ${loadavg()[0]!.toFixed(1)}\n` +
      `convoy ${c.median.toFixed(1)} µs · birpc ${b.median.toFixed(1)} µs · convoy / birpc ${ratio.median.toFixed(3)} (${ratio.q1.toFixed(2)} – ${ratio.q3.toFixed(2)})`,
  );
} finally {
  await cluster.close();
  await host.close();
}
