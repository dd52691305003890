// What the shape of a small message costs a MessagePort round trip between two threads: a thread echoes
// whatever it receives, and the caller times one message at a time in each shape, the shapes taking turns
// in interleaved rounds (the order rotating). Prints each shape's median p50 and the median of per-round
// ratios against convoy's value frame of a call, `[acked, dataBytes, encodedBytes, [Call, id, method, args]]`.
// Says how much any shape of a lone call could save over the value frame (docs/architecture.md, "Wire").
//
//   taskset -c 0 node bench/port-shapes-rtt.mjs [rounds=25] [calls=5000]
import { MessageChannel, Worker, isMainThread, workerData } from 'node:worker_threads';
import { roundTrips } from './loops.mjs';

/** Each shape carries a call of `inc(1)` with id `n`, or as much of it as the shape can. */
const SHAPES = {
  'value frame (convoy)': (n) => [0, 12, 12, [1, n, 'inc', [1]]],
  'flat frame': (n) => [0, 12, 12, 1, n, 'inc', [1]],
  'flat frame, flat arguments': (n) => [0, 12, 12, 1, n, 'inc', 1],
  'object (as birpc)': (n) => ({ t: 'q', i: n, m: 'inc', a: [1] }),
  '24-character string': (n) => `abcdefghijklmnopqrstuvw${String.fromCharCode(65 + (n % 26))}`,
  number: (n) => n,
};

if (!isMainThread) {
  const { port } = workerData;
  port.on('message', (message) => port.postMessage(message));
} else {
  const [rounds = 25, calls = 5000] = process.argv.slice(2).map(Number);
  const { port1, port2 } = new MessageChannel();
  const echo = new Worker(new URL(import.meta.url), { workerData: { port: port2 }, transferList: [port2] });
  await new Promise((resolve) => echo.once('online', resolve));
  let answered;
  port1.on('message', () => answered());
  const timed = (make) => {
    let n = 0;
    return () =>
      new Promise((resolve) => {
        answered = resolve;
        port1.postMessage(make(n++));
      });
  };
  const names = Object.keys(SHAPES);
  const arms = Object.fromEntries(names.map((name) => [name, timed(SHAPES[name])]));
  // Warm-up: each shape long enough for both threads to run optimised code.
  for (const name of names) await roundTrips(arms[name], 20_000);
  const rows = [];
  for (let round = 0; round < rounds; round++) {
    const row = {};
    for (const name of names.slice(round % names.length).concat(names.slice(0, round % names.length))) {
      row[name] = (await roundTrips(arms[name], calls)).p50;
    }
    rows.push(row);
  }
  port1.close();
  await echo.terminate();

  const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
  const [load] = (await import('node:os')).loadavg();
  const base = names[0];
  console.log(`${rounds} rounds of ${calls} round trips per shape, 1-minute load ${load.toFixed(1)}; p50 µs`);
  for (const name of names) {
    const ratio = median(rows.map((row) => row[name] / row[base]));
    console.log(`${name.padEnd(28)} ${median(rows.map((row) => row[name])).toFixed(2)} µs   ${ratio.toFixed(3)}× the value frame`);
  }
}
