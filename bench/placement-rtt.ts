// One call at a time between two threads, pinned to one CPU, for convoy and birpc with each arm's threads
// placed two ways: in a process of their own (as the bench's raw baselines run) or in this process, which
// also runs the harness (as the bench's convoy clusters do). Says how much of the bench's thread↔thread
// "faster than birpc" row is placement and how much is convoy's layers or its cluster (docs/benchmarks.md,
// "One call at a time against birpc").
//
//   npm run build && node --import tsx bench/placement-rtt.ts [--rounds 9] [--calls 2000] [--unpinned]
//
// Arms (bench/baselines/raw-loops.mjs, the bench's own): the raw structured-clone ping-pong, birpc, and
// convoy's Endpoint + Channel over a PortTransport (`convoy-endpoint`), each as `proc` (a forked peer host
// whose thread calls its other thread) and, but the raw one, as `here` (two threads of this process);
// plus a convoy cluster call (`here cluster`, caller thread → callee thread of a cluster this process
// coordinates). Every round runs one window of each arm, the order rotating; prints each arm's median p50
// and the median of its per-round ratios to `proc birpc`.
import { parseArgs } from 'node:util';
import { connect, runOn, startHost, type Host } from './baselines/peer-host.js';
import type { PortProto } from './baselines/raw-loops.mjs';
import { rotate, spread } from './interleave.js';
import { pinToOneCpu } from './pin.js';
import { spec, start, warmPath, type BenchApi } from './scenarios/common.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '9' },
    calls: { type: 'string', default: '2000' },
    unpinned: { type: 'boolean', default: false },
  },
});
const rounds = Number(args.rounds);
const calls = Number(args.calls);

const hosts: Host[] = [];
const arms = new Map<string, () => Promise<number>>();
for (const proto of ['clone', 'birpc', 'convoy-endpoint'] satisfies PortProto[]) {
  const from = await startHost('process');
  hosts.push(from);
  await from.request({ op: 'connect-threads', conn: proto, proto });
  arms.set(`proc ${proto}`, async () => (await runOn(from, proto, 'rtt', calls)).p50);
}
for (const proto of ['birpc', 'convoy-endpoint'] satisfies PortProto[]) {
  const [from, to] = [await startHost('thread'), await startHost('thread')];
  hosts.push(from, to);
  await connect(from, to, proto, proto);
  arms.set(`here ${proto}`, async () => (await runOn(from, proto, 'rtt', calls)).p50);
}
const cluster = await start([spec('caller', 'thread'), spec('callee', 'thread')]);
try {
  const caller = cluster.worker<BenchApi>('caller');
  // Warm convoy's path (V8 optimises it after tens of thousands of calls), as the bench does.
  await warmPath(cluster.worker<BenchApi>('callee'), caller);
  arms.set('here cluster', async () => (await caller.pingPeer('callee', calls)).p50);

  const unpin = args.unpinned ? () => {} : pinToOneCpu();
  const names = [...arms.keys()];
  const got = await rotate([...arms.values()], rounds, 2).finally(unpin);
  const base = names.indexOf('proc birpc');
  const [load] = (await import('node:os')).loadavg();
  console.log(`${rounds} rounds of ${calls} calls, ${args.unpinned ? 'unpinned' : 'one CPU'}, 1-minute load ${load!.toFixed(1)}`);
  for (const [i, name] of names.entries()) {
    const p50 = spread(got.map((round) => round[i]!));
    const ratio = spread(got.map((round) => round[i]! / round[base]!));
    console.log(
      `${name.padEnd(22)} p50 ${p50.median.toFixed(1)} µs (${p50.min.toFixed(1)} – ${p50.max.toFixed(1)})   × proc birpc ${ratio.median.toFixed(3)} (${ratio.q1.toFixed(2)} – ${ratio.q3.toFixed(2)})`,
    );
  }
} finally {
  await cluster.close();
  for (const host of hosts) await host.close();
}
