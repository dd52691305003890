// Many workers on default options: start, one call to each from the coordinator, three stats readings,
// close; prints the times, the coordinator's RSS and its open file descriptors. On the compiled build:
// `npm run build` first.
//
//   node bench/many-workers.mjs [--workers 256] [--kind thread|process|mixed]
import { readdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startCluster } from 'convoy';

const { values: args } = parseArgs({
  options: { workers: { type: 'string', default: '256' }, kind: { type: 'string', default: 'thread' } },
});
const count = Number(args.workers);
if (!['thread', 'process', 'mixed'].includes(args.kind)) throw new TypeError(`--kind must be thread, process or mixed, not ${args.kind}`);
const module = new URL('./fixtures/name-worker.mjs', import.meta.url);
const workers = Array.from({ length: count }, (_, i) => ({
  name: `w${i}`,
  module,
  kind: args.kind === 'mixed' ? (i % 2 ? 'process' : 'thread') : args.kind,
}));
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
const descriptors = () => readdirSync('/proc/self/fd').length;

let started = performance.now();
const cluster = await startCluster({ workers });
console.log(
  `${count} ${args.kind} workers started in ${seconds(performance.now() - started)}; coordinator RSS ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB, ${descriptors()} fds`,
);
started = performance.now();
const names = await Promise.all(cluster.names.map((name) => cluster.worker(name).name()));
const right = names.filter((name, i) => name === cluster.names[i]).length;
console.log(`a call to each: ${right} of ${count} answered in ${seconds(performance.now() - started)}`);
for (let i = 0; i < 3; i++) {
  started = performance.now();
  const stats = await cluster.stats();
  const answered = stats.workers.filter((w) => w.process !== undefined).length;
  console.log(`stats(): ${(performance.now() - started).toFixed(0)} ms, ${answered} of ${count} answered`);
}
started = performance.now();
await cluster.close();
console.log(`closed in ${seconds(performance.now() - started)}`);
if (right !== count) process.exitCode = 1;
