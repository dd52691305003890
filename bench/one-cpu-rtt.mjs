// One arm of one call at a time from this thread to a thread of this process, alone in its process, so that
// whole-process counters (`perf stat`) can be read per call: run it at two call counts and divide the
// difference by the difference in calls (docs/benchmarks.md, "This machine": what a round trip costs in the
// kernel). Prints the mean and p50/p99 µs per round trip.
//
//   npm run build && taskset -c 0 node bench/one-cpu-rtt.mjs <clone|birpc|convoy-endpoint|cluster> [calls=20000]
//   taskset -c 0 perf stat -e raw_syscalls:sys_enter,context-switches,task-clock node bench/one-cpu-rtt.mjs birpc 50000
//
// Arms: the bench's own (baselines/raw-loops.mjs): the raw structured-clone ping-pong, birpc, convoy's
// Endpoint + Channel over a PortTransport; and `cluster`, a convoy cluster of one thread called from the
// coordinator. Plain .mjs that starts its callee thread itself, not through baselines/peer-host.ts: that
// needs tsx, whose loader thread would be in the process's counters.
import { MessageChannel, Worker, isMainThread, workerData } from 'node:worker_threads';

process.env.CONVOY_BENCH_INDEX ??= new URL('../dist/bundle/convoy.js', import.meta.url).href;
const { portCaller, servePort } = await import('./baselines/raw-loops.mjs');
const { roundTrips } = await import('./loops.mjs');

if (!isMainThread) {
  await servePort(workerData.port, workerData.proto);
} else {
  const [proto, count = '20000'] = process.argv.slice(2);
  if (!['clone', 'birpc', 'convoy-endpoint', 'cluster'].includes(proto)) {
    console.error('usage: node bench/one-cpu-rtt.mjs <clone|birpc|convoy-endpoint|cluster> [calls]');
    process.exit(2);
  }
  const calls = Number(count);
  let rtt;
  let close;
  if (proto === 'cluster') {
    const index = new URL('../dist/src/index.js', import.meta.url).href;
    const convoy = await import(index);
    const module = new URL('./fixtures/bench-worker.mjs', import.meta.url);
    const cluster = await convoy.startCluster({ workers: [{ name: 'w', module, env: { CONVOY_BENCH_INDEX: index } }] });
    const worker = cluster.worker('w');
    rtt = (n) => roundTrips(() => worker.inc(1), n);
    close = () => cluster.close();
  } else {
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(new URL(import.meta.url), { workerData: { port: port2, proto }, transferList: [port2] });
    await new Promise((resolve) => worker.once('online', resolve));
    const caller = await portCaller(port1, proto);
    rtt = (n) => caller.rtt(n);
    close = () => {
      port1.close();
      return worker.terminate();
    };
  }
  await rtt(2000);
  const start = performance.now();
  const { p50, p99 } = await rtt(calls);
  const mean = ((performance.now() - start) * 1000) / calls;
  console.log(`${proto}: ${calls} round trips, mean ${mean.toFixed(2)} µs, p50 ${p50.toFixed(2)} µs, p99 ${p99.toFixed(1)} µs`);
  await close();
}
