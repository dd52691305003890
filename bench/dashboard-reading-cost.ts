// What one dashboard reading costs in CPU time, which is what a page open at 1 s adds each second: the
// coordinator's stats calls, every worker's answer (threads here, so their CPU time counts in this process),
// the collector's arithmetic and one /events message, serialised. Steadier than a throughput A/B on a busy
// machine, because CPU time is not stolen by other processes.
//
//   node --import tsx bench/dashboard-reading-cost.ts [--workers 8] [--readings 300]
import { parseArgs } from 'node:util';
import { EventLog } from '../src/cluster/event-log.js';
import { Collector } from '../src/dashboard/collector.js';
import { startCluster } from '../src/index.js';

const { values: args } = parseArgs({
  options: { workers: { type: 'string', default: '8' }, readings: { type: 'string', default: '300' } },
});
const count = Number(args.workers);
const readings = Number(args.readings);
const cluster = await startCluster({
  workers: [{ name: 'w', module: new URL('../test/fixtures/dashboard-pump.ts', import.meta.url), count }],
});
// Every worker calls every other for a moment, so every channel has counters and latency to read; then
// they stop, so the CPU time measured below is the readings' own.
for (let i = 0; i < count; i++)
  for (let j = 1; j < count; j++) await cluster.worker<{ pump(to: string): void }>(`w-${i}`).pump(`w-${(i + j) % count}`);
await new Promise((resolve) => setTimeout(resolve, 500));
for (let i = 0; i < count; i++) await cluster.worker<{ stop(): void }>(`w-${i}`).stop();
const collector = new Collector({ stats: () => cluster.stats(), events: new EventLog() }, 300_000);
for (let i = 0; i < 20; i++) await collector.read(); // warm-up
const cpu = process.cpuUsage();
const started = performance.now();
let bytes = 0;
for (let i = 0; i < readings; i++) bytes += JSON.stringify({ ...(await collector.read()), events: [] }).length;
const used = process.cpuUsage(cpu);
const wallMs = performance.now() - started;
const cpuMsPerReading = (used.user + used.system) / 1000 / readings;
console.log(`${count} thread workers (${count * (count - 1) + 2 * count} channels), ${readings} readings`);
console.log(`  CPU per reading: ${cpuMsPerReading.toFixed(2)} ms (all threads of this process), wall ${(wallMs / readings).toFixed(2)} ms`);
console.log(`  message: ${Math.round(bytes / readings)} bytes`);
console.log(
  `  a page at 1 s: ${((cpuMsPerReading / 1000) * 100).toFixed(2)}% of one core; at 250 ms: ${((cpuMsPerReading / 250) * 100).toFixed(2)}%`,
);
await cluster.close();
