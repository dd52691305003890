// One call at a time over a MessageChannel with both ends in this thread, so that each round trip's time
// is the CPU both ends spend on it plus the port's own delivery, with no thread to wake: convoy's Endpoint
// and Channel over its PortTransport (the breakdown's `convoy-endpoint` rung) against birpc and the raw
// structured-clone ping-pong, the bench's own arms (baselines/raw-loops.mjs). Rounds rotate the order;
// prints each arm's median p50 and the medians of per-round ratios. Says whether convoy's own layers cost
// more per round trip than birpc's (docs/benchmarks.md, "One call at a time against birpc"); the MessagePort twin of
// tcp-layers-rtt.mjs.
//
// `--stand-in` takes the port out too: each pair of ends is a stand-in that structured-clones what is
// posted and delivers it in a microtask, so the arms pay alike for the "port" (no uv handle, no wake-up)
// and differ only in their own code (docs/benchmarks.md, "One call at a time against birpc").
//
//   npm run build && node bench/port-layers-rtt.mjs [rounds=11] [calls=5000] [--stand-in]
import { EventEmitter } from 'node:events';
import { MessageChannel } from 'node:worker_threads';

// convoy's layers load the build CONVOY_BENCH_INDEX names (layer-loops.mjs): the compiled one.
process.env.CONVOY_BENCH_INDEX ??= new URL('../dist/bundle/convoy.js', import.meta.url).href;
const { portCaller, servePort } = await import('./baselines/raw-loops.mjs');

const standIn = process.argv.includes('--stand-in');
const [rounds = 11, calls = 5000] = process.argv
  .slice(2)
  .filter((arg) => !arg.startsWith('--'))
  .map(Number);

/** Two ends that hand each other a structured clone of what is posted, in a microtask. */
function standInChannel() {
  const end = () => Object.assign(new EventEmitter(), { start() {}, close() {} });
  const [port1, port2] = [end(), end()];
  const postingTo = (to) => (value) => {
    const copy = structuredClone(value);
    queueMicrotask(() => to.emit('message', copy));
  };
  port1.postMessage = postingTo(port2);
  port2.postMessage = postingTo(port1);
  return { port1, port2 };
}
const PROTOS = { convoy: 'convoy-endpoint', birpc: 'birpc', raw: 'clone' };

const arms = {};
const ports = [];
for (const [name, proto] of Object.entries(PROTOS)) {
  const { port1, port2 } = standIn ? standInChannel() : new MessageChannel();
  ports.push(port1, port2);
  await servePort(port2, proto);
  arms[name] = await portCaller(port1, proto);
}
const names = Object.keys(arms);
for (const name of names) await arms[name].rtt(calls);
const rows = [];
for (let i = 0; i < rounds; i++) {
  const row = {};
  for (const name of names.slice(i % names.length).concat(names.slice(0, i % names.length))) row[name] = (await arms[name].rtt(calls)).p50;
  rows.push(row);
}
for (const arm of Object.values(arms)) arm.close();
for (const port of ports) port.close();

const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
const ratio = (a, b) => median(rows.map((row) => row[a] / row[b])).toFixed(3);
const [load] = (await import('node:os')).loadavg();
console.log(
  `${rounds} rounds of ${calls} calls${standIn ? ' over stand-in ports' : ''}, 1-minute load ${load.toFixed(1)}; p50 µs per round trip`,
);
for (const name of names) console.log(`${name} (${PROTOS[name]}): ${median(rows.map((row) => row[name])).toFixed(2)} µs`);
console.log(`convoy/birpc ${ratio('convoy', 'birpc')}, convoy/raw ${ratio('convoy', 'raw')}, birpc/raw ${ratio('birpc', 'raw')}`);
