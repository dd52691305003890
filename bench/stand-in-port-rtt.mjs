// What each library's own code costs per round trip, with the port taken out: both ends in one thread,
// over a stand-in port pair that structured-clones each message and delivers it in a microtask, so convoy
// (Endpoint, Channel, PortTransport, calling `inc(1)` through a Remote), birpc (default options) and a raw
// clone ping-pong pay the same for the "port" and differ only in their own layers. Windows of 20 000 round
// trips, 15 rounds in rotating order after one of 50 000 each; prints the median µs per round trip and the
// median of per-round ratios convoy / birpc (README, "Where the targets stand": one call at a time against
// birpc).
//
//   npm run build && node bench/stand-in-port-rtt.mjs
import { EventEmitter } from 'node:events';
import { createBirpc } from 'birpc';

const m = await import(new URL('../dist/bundle/internals.js', import.meta.url).href);

/** Two ends that hand each other a structured clone of what is posted, in a microtask. */
function standInPorts() {
  const end = () => Object.assign(new EventEmitter(), { start() {}, close() {} });
  const [a, b] = [end(), end()];
  a.postMessage = (value) => {
    const copy = structuredClone(value);
    queueMicrotask(() => b.emit('message', copy));
  };
  b.postMessage = (value) => {
    const copy = structuredClone(value);
    queueMicrotask(() => a.emit('message', copy));
  };
  return [a, b];
}

const arms = {};
{
  const [a, b] = standInPorts();
  let n = 0;
  const caller = new m.Endpoint(new m.Channel(new m.PortTransport(a)), {});
  new m.Endpoint(new m.Channel(new m.PortTransport(b)), { api: { inc: (by) => (n += by) } });
  const remote = m.createRemote(caller);
  arms.convoy = () => remote.inc(1);
}
{
  const [a, b] = standInPorts();
  let n = 0;
  createBirpc({ inc: (by) => (n += by) }, { post: (data) => b.postMessage(data), on: (fn) => b.on('message', fn) });
  const remote = createBirpc({}, { post: (data) => a.postMessage(data), on: (fn) => a.on('message', fn) });
  arms.birpc = () => remote.inc(1);
}
{
  const [a, b] = standInPorts();
  let n = 0;
  b.on('message', (msg) => b.postMessage({ id: msg.id, value: (n += msg.by) }));
  let settle;
  a.on('message', (msg) => settle(msg.value));
  let id = 0;
  arms.raw = () =>
    new Promise((resolve) => {
      settle = resolve;
      a.postMessage({ id: id++, by: 1 });
    });
}

async function window(call, count) {
  const start = performance.now();
  for (let i = 0; i < count; i++) await call();
  return ((performance.now() - start) * 1000) / count;
}
const names = Object.keys(arms);
for (const name of names) await window(arms[name], 50_000);
const got = Object.fromEntries(names.map((name) => [name, []]));
for (let round = 0; round < 15; round++) {
  for (let i = 0; i < names.length; i++) {
    const name = names[(round + i) % names.length];
    got[name].push(await window(arms[name], 20_000));
  }
}
const median = (values) => [...values].sort((x, y) => x - y)[values.length >> 1];
console.log(
  `${names.map((name) => `${name} ${median(got[name]).toFixed(2)} µs`).join(' · ')} per round trip · convoy / birpc ${median(
    got.convoy.map((v, i) => v / got.birpc[i]),
  ).toFixed(3)}`,
);
