// What the always-on caller latency costs per call: CPU time of pipelined calls between two endpoints
// in one thread (a memory transport: no I/O, no other thread, so the figure is the code's own): the
// sampling as it runs, no call ever timed, and (for comparison) every call timed, in alternating windows;
// medians of the per-round ratios against "never".
//
//   node --import tsx bench/latency-sampling-cost.ts [--rounds 20] [--calls 200000]
import { parseArgs } from 'node:util';
import { Channel, Endpoint, createMemoryTransportPair } from '../src/internals.js';
import { CallLatency } from '../src/rpc/call-latency.js';

const { values: args } = parseArgs({
  options: { rounds: { type: 'string', default: '20' }, calls: { type: 'string', default: '200000' } },
});
const rounds = Number(args.rounds);
const calls = Number(args.calls);
const INFLIGHT = 1000;

function open() {
  const [x, y] = createMemoryTransportPair();
  const caller = new Endpoint(new Channel(x), { peerName: 'callee' });
  new Endpoint(new Channel(y), { api: { inc: (n: number) => n + 1 } });
  return caller;
}

/** CPU µs per call for `calls` pipelined calls. */
function run(caller: Endpoint): Promise<number> {
  return new Promise((resolve, reject) => {
    const cpu = process.cpuUsage();
    let issued = 0;
    let done = 0;
    const issue = (): void => {
      issued++;
      caller.call('inc', [issued]).then(() => {
        if (++done === calls) {
          const used = process.cpuUsage(cpu);
          resolve((used.user + used.system) / calls);
        } else if (issued < calls) issue();
      }, reject);
    };
    for (let i = 0; i < INFLIGHT; i++) issue();
  });
}

type Arm = 'sampled' | 'never' | 'every';
const arms: Record<Arm, Endpoint> = { sampled: open(), never: open(), every: open() };
// Nothing timed (one call in 2^30 on average), and every call timed, whatever the pace of calls; the same
// class as the sampled arm's, so that the endpoint's calls to it stay monomorphic in all three arms.
(arms.never as { latency: CallLatency }).latency = new CallLatency(2 ** 30);
(arms.every as { latency: CallLatency }).latency = new CallLatency(1);
for (let i = 0; i < 3; i++) for (const arm of Object.values(arms)) await run(arm);
const cost: Record<Arm, number[]> = { sampled: [], never: [], every: [] };
const ratios: Record<'sampled' | 'every', number[]> = { sampled: [], every: [] };
for (let round = 0; round < rounds; round++) {
  const order: Arm[] = round % 2 === 0 ? ['sampled', 'never', 'every'] : ['every', 'never', 'sampled'];
  const got: Partial<Record<Arm, number>> = {};
  for (const arm of order) got[arm] = await run(arms[arm]);
  for (const arm of order) cost[arm].push(got[arm]!);
  ratios.sampled.push(got.sampled! / got.never!);
  ratios.every.push(got.every! / got.never!);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const list = (xs: number[]) => xs.map((r) => r.toFixed(2)).join(' ');
console.log(`${rounds} rounds of ${calls} pipelined calls (${INFLIGHT} in flight), CPU µs per call`);
console.log(
  `  never timed ${median(cost.never).toFixed(3)}   sampled ${median(cost.sampled).toFixed(3)} (one in ${arms.sampled.latency.oneIn} timed now)   every call timed ${median(cost.every).toFixed(3)}`,
);
console.log(`  paired sampled/never: median ${median(ratios.sampled).toFixed(3)}  (${list(ratios.sampled)})`);
console.log(`  paired every/never:   median ${median(ratios.every).toFixed(3)}  (${list(ratios.every)})`);
