// One call at a time over loopback TCP with both ends in this thread, so that each round trip's time is
// the CPU both ends spend on it, with no scheduling between processes: convoy's Endpoint and Channel over
// its TCP transport against minimal-rpc (bench/baselines/rpc-floors.mjs) over the raw bench's socket wire.
// Windows alternate, order swapped every pair; prints the medians and the median of per-pair ratios.
// Says whether convoy's own layers cost more than the smallest RPC once the operating system is out of
// the picture (README, "The rows still missed").
//
//   npm run build && node bench/tcp-layers-rtt.mjs [pairs=11] [calls=5000]
import net from 'node:net';
import { serveMinimal, floorClient } from './baselines/rpc-floors.mjs';
import { socketWire } from './baselines/raw-loops.mjs';
import { loadLayers } from './layers.mjs';

const pairs = Number(process.argv[2] ?? 11);
const calls = Number(process.argv[3] ?? 5000);
const { Channel, Endpoint, TcpTransport } = await loadLayers(new URL('../dist/bundle/convoy.js', import.meta.url).href);

/** Two ends of one loopback connection, TCP_NODELAY on both. */
async function socketPair() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise((resolve) => server.once('connection', resolve));
  const dialed = net.connect(server.address().port, '127.0.0.1');
  await new Promise((resolve) => dialed.once('connect', resolve));
  const ends = [dialed, await accepted];
  server.close();
  for (const socket of ends) socket.setNoDelay(true);
  return ends;
}

async function convoyArm() {
  const [a, b] = await socketPair();
  let n = 0;
  const tcp = (socket) => new TcpTransport(socket, { maxFrameBytes: 1 << 26 });
  new Endpoint(new Channel(tcp(b)), { api: { inc: (by) => (n += by) } });
  const caller = new Endpoint(new Channel(tcp(a)));
  return { inc: (by) => caller.call('inc', [by]), sockets: [a, b] };
}

async function minimalArm() {
  const [a, b] = await socketPair();
  serveMinimal(socketWire(b, 'minimal-rpc'));
  return { inc: floorClient(socketWire(a, 'minimal-rpc'), 'minimal-rpc', 1000), sockets: [a, b] };
}

/** µs per round trip over `count` sequential calls. */
async function window(inc, count) {
  const started = performance.now();
  for (let i = 0; i < count; i++) await inc(1);
  return ((performance.now() - started) * 1000) / count;
}

const arms = { convoy: await convoyArm(), minimal: await minimalArm() };
for (const arm of Object.values(arms)) await window(arm.inc, calls);
const rows = [];
for (let i = 0; i < pairs; i++) {
  const row = {};
  for (const name of i % 2 ? ['convoy', 'minimal'] : ['minimal', 'convoy']) row[name] = await window(arms[name].inc, calls);
  rows.push(row);
}
for (const arm of Object.values(arms)) for (const socket of arm.sockets) socket.destroy();

const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
const ratios = rows.map((row) => row.convoy / row.minimal);
const [load] = (await import('node:os')).loadavg();
console.log(`${pairs} pairs of ${calls} calls, 1-minute load ${load.toFixed(1)}`);
console.log(`convoy Endpoint + Channel over TCP: ${median(rows.map((r) => r.convoy)).toFixed(1)} µs per round trip`);
console.log(`minimal-rpc over the raw socket wire: ${median(rows.map((r) => r.minimal)).toFixed(1)} µs per round trip`);
console.log(
  `convoy / minimal-rpc: ${median(ratios).toFixed(3)}× (median of per-pair ratios; range ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`,
);
