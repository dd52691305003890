// What one dashboard reading costs in CPU time, which is what a page open at 1 s adds each second: the
// coordinator's stats calls, every worker's answer (threads here, so their CPU time counts in this process),
// the collector's arithmetic and one /events message, serialised; and, on Linux, the share of it spent on the
// coordinator's own thread. Steadier than a throughput A/B on a busy
// machine, because CPU time is not stolen by other processes.
//
// Idle channels are the cheap case: a worker sends an unchanged channel as its name alone, and the
// coordinator reuses what it has. With --changing, every worker calls every peer once before each reading
// (outside the time measured), so every channel has moved and is sent, decoded and worked out in full.
//
//   node --import tsx bench/dashboard-reading-cost.ts [--workers 8] [--readings 300] [--changing]
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { EventLog } from '../src/cluster/event-log.js';
import { Collector } from '../src/dashboard/collector.js';
import { GZIP_LEVEL } from '../src/dashboard/compression.js';
import { startCluster } from '../src/index.js';

const { values: args } = parseArgs({
  options: {
    workers: { type: 'string', default: '8' },
    readings: { type: 'string', default: '300' },
    changing: { type: 'boolean', default: false },
  },
});
const count = Number(args.workers);
const readings = Number(args.readings);
const cluster = await startCluster({
  workers: [{ name: 'w', module: new URL('../test/fixtures/dashboard-pump.ts', import.meta.url), count }],
});
type Toucher = { touch(peers: string[]): void };
const names = Array.from({ length: count }, (_, i) => `w-${i}`);
const moveEveryChannel = () => Promise.all(names.map((name) => cluster.worker<Toucher>(name).touch(names.filter((n) => n !== name))));
// Every worker calls every other a few times, so every channel is open and has counters and latency to read.
for (let i = 0; i < 20; i++) await moveEveryChannel();
const collector = new Collector({ stats: () => cluster.stats(), events: new EventLog() }, 300_000);
for (let i = 0; i < 20; i++) {
  if (args.changing) await moveEveryChannel();
  await collector.read(); // warm-up
}
/** This thread's CPU time in ms (Linux: /proc, in 10 ms ticks), or undefined elsewhere. */
const threadCpuMs = (): number | undefined => {
  if (!existsSync('/proc/thread-self/stat')) return undefined;
  const fields = readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
};
const threadCpuBefore = threadCpuMs();
let cpuMicros = 0;
let wallMs = 0;
let bytes = 0;
let message = '';
for (let i = 0; i < readings; i++) {
  if (args.changing) await moveEveryChannel();
  const cpu = process.cpuUsage();
  const started = performance.now();
  message = JSON.stringify({ ...(await collector.read()), events: [] });
  bytes += message.length;
  const used = process.cpuUsage(cpu);
  wallMs += performance.now() - started;
  cpuMicros += used.user + used.system;
}
const threadCpuAfter = threadCpuMs();
// What the server then spends on libuv's pool (not in the figures above) for a page that accepts gzip, as
// every browser does: the last message, compressed as the server does.
const gzipStarted = performance.now();
const gzipBytes = gzipSync(message, { level: GZIP_LEVEL }).length;
const gzipMs = performance.now() - gzipStarted;
const cpuMsPerReading = cpuMicros / 1000 / readings;
console.log(
  `${count} thread workers (${count * (count - 1) + 2 * count} channels), ${readings} readings, ${args.changing ? 'every channel moved before each' : 'channels idle'}`,
);
console.log(`  CPU per reading: ${cpuMsPerReading.toFixed(2)} ms (all threads of this process), wall ${(wallMs / readings).toFixed(2)} ms`);
if (threadCpuBefore !== undefined && threadCpuAfter !== undefined) {
  // The coordinator's own thread, which also carries the cluster's calls: the workers' answers are the rest.
  console.log(`  of which the coordinator's thread: ${((threadCpuAfter - threadCpuBefore) / readings).toFixed(2)} ms`);
}
console.log(
  `  message: ${Math.round(bytes / readings)} bytes; the last one gzipped (level ${GZIP_LEVEL}, as the server sends it): ${gzipBytes} bytes, ${gzipMs.toFixed(2)} ms`,
);
console.log(
  `  a page at 1 s: ${((cpuMsPerReading / 1000) * 100).toFixed(2)}% of one core; at 250 ms: ${((cpuMsPerReading / 250) * 100).toFixed(2)}%`,
);
await cluster.close();
