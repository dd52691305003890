// One call at a time over a MessageChannel with both ends in this thread, so that each round trip's time
// is the CPU both ends spend on it plus the port's own delivery, with no thread to wake: convoy's Endpoint
// and Channel over its PortTransport against birpc and a raw structured-clone ping-pong on the same kind of
// port. Rounds rotate the order; prints the medians and the medians of per-round ratios. Says whether
// convoy's own layers cost more per round trip than birpc's (README, "The rows still missed"), the
// MessagePort twin of tcp-layers-rtt.mjs.
//
//   npm run build && node bench/port-layers-rtt.mjs [rounds=11] [calls=5000]
import { MessageChannel } from 'node:worker_threads';
import { createBirpc } from 'birpc';
import { loadLayers } from './layers.mjs';
const { Channel, Endpoint, PortTransport } = await loadLayers(new URL('../dist/bundle/convoy.js', import.meta.url).href);
const pairs = Number(process.argv[2] ?? 11);
const calls = Number(process.argv[3] ?? 5000);

function convoyArm() {
  const { port1, port2 } = new MessageChannel();
  let n = 0;
  new Endpoint(new Channel(new PortTransport(port2)), { api: { inc: (by) => (n += by) } });
  const caller = new Endpoint(new Channel(new PortTransport(port1)));
  return { inc: (by) => caller.call('inc', [by]), ports: [port1, port2] };
}
function birpcArm() {
  const { port1, port2 } = new MessageChannel();
  let n = 0;
  createBirpc({ inc: (by) => (n += by) }, { post: (d) => port2.postMessage(d), on: (fn) => void port2.on('message', fn) });
  const remote = createBirpc({}, { post: (d) => port1.postMessage(d), on: (fn) => void port1.on('message', fn) });
  return { inc: (by) => remote.inc(by), ports: [port1, port2] };
}
function rawArm() {
  const { port1, port2 } = new MessageChannel();
  let n = 0;
  port2.on('message', (m) => port2.postMessage({ id: m.id, v: (n += m.by) }));
  let resolve;
  port1.on('message', (m) => resolve(m.v));
  let id = 0;
  return {
    inc: (by) =>
      new Promise((r) => {
        resolve = r;
        port1.postMessage({ id: id++, by });
      }),
    ports: [port1, port2],
  };
}
async function window(inc, count) {
  const started = performance.now();
  for (let i = 0; i < count; i++) await inc(1);
  return ((performance.now() - started) * 1000) / count;
}
const arms = { convoy: convoyArm(), birpc: birpcArm(), raw: rawArm() };
for (const arm of Object.values(arms)) await window(arm.inc, calls);
const rows = [];
const names = Object.keys(arms);
for (let i = 0; i < pairs; i++) {
  const row = {};
  const order = names.slice(i % 3).concat(names.slice(0, i % 3));
  for (const name of order) row[name] = await window(arms[name].inc, calls);
  rows.push(row);
}
for (const arm of Object.values(arms)) for (const p of arm.ports) p.close();
const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
const [load] = (await import('node:os')).loadavg();
console.log(`${pairs} rounds of ${calls} calls, load ${load.toFixed(1)}`);
for (const name of names) console.log(`${name}: ${median(rows.map((r) => r[name])).toFixed(2)} µs`);
console.log(
  `convoy/birpc ${median(rows.map((r) => r.convoy / r.birpc)).toFixed(3)}, convoy/raw ${median(rows.map((r) => r.convoy / r.raw)).toFixed(3)}, birpc/raw ${median(rows.map((r) => r.birpc / r.raw)).toFixed(3)}`,
);
