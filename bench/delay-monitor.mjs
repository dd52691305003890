// How well Node's event-loop delay monitor reads a stall at a given resolution (its timer's interval), as
// a worker's stats answer reports it (process-health.ts): in each of 8 one-second windows the loop stalls
// for `stall` ms every 100–300 ms; prints the median over the windows of the max, p99 and p50 it read,
// less the resolution, as the dashboard shows them.
//
//   node bench/delay-monitor.mjs [--resolution 50] [--stall 30]
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: { resolution: { type: 'string', default: '50' }, stall: { type: 'string', default: '30' } },
});
const resolution = Number(args.resolution);
const stall = Number(args.stall);
const monitor = monitorEventLoopDelay({ resolution });
monitor.enable();
const late = (nanoseconds) => Math.max(0, nanoseconds / 1e6 - resolution);
const windows = [];
for (let w = 0; w < 8; w++) {
  monitor.reset();
  const end = Date.now() + 1000;
  while (Date.now() < end) {
    await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
    const started = performance.now();
    while (performance.now() - started < stall);
  }
  windows.push({ max: late(monitor.max), p99: late(monitor.percentile(99)), p50: late(monitor.percentile(50)) });
}
monitor.disable();
const median = (key) =>
  windows
    .map((w) => w[key])
    .sort((a, b) => a - b)
    [windows.length >> 1].toFixed(1);
console.log(
  `resolution ${resolution} ms, stalls of ${stall} ms: max ${median('max')}, p99 ${median('p99')}, p50 ${median('p50')} ms (median of 8 windows)`,
);
