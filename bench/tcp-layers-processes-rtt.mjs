// One call at a time over loopback TCP between two processes: convoy's Endpoint and Channel against
// minimal-rpc (bench/baselines/rpc-floors.mjs), both arms in the same two processes (this one calls, a
// forked child serves), so what the processes weigh is the same for both. bench/tcp-layers-rtt.mjs does the
// same in one thread; this adds the scheduling between processes that the bench's coord↔process and
// process↔process rows pay. Windows alternate, order swapped every pair; prints the medians and the median
// of per-pair ratios. `--bare` loads no convoy at all and runs minimal-rpc against itself, on two
// connections: what minimal-rpc takes in processes that do not carry convoy (README, "The rows still missed").
//
//   npm run build && taskset -c 0 node bench/tcp-layers-processes-rtt.mjs [--bare] [pairs=11] [calls=5000]
import { fork } from 'node:child_process';
import net from 'node:net';
import { loadavg } from 'node:os';
import { floorClient, serveMinimal } from './baselines/rpc-floors.mjs';
import { socketWire } from './baselines/raw-loops.mjs';
import { loadLayers } from './layers.mjs';

const args = process.argv.slice(2);
const bare = args.includes('--bare');
const [pairs = 11, calls = 5000] = args.filter((a) => a !== '--bare' && a !== 'serve').map(Number);
const layers = bare ? undefined : await loadLayers(new URL('../dist/bundle/convoy.js', import.meta.url).href);
const tcp = (socket) => new layers.TcpTransport(socket, { maxFrameBytes: 1 << 26 });

if (args[0] === 'serve') {
  // Each connection names its protocol in its first bytes; the reply 'k' says it is served.
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.once('data', (hello) => {
      socket.pause();
      if (hello.toString() === 'convoy') {
        let n = 0;
        new layers.Endpoint(new layers.Channel(tcp(socket)), { api: { inc: (by) => (n += by) } });
      } else serveMinimal(socketWire(socket, 'minimal-rpc'));
      socket.write('k');
      socket.resume();
    });
  });
  server.listen(0, '127.0.0.1', () => process.send(server.address().port));
  process.on('disconnect', () => process.exit(0));
} else {
  const child = fork(new URL(import.meta.url), ['serve', ...(bare ? ['--bare'] : [])]);
  const port = await new Promise((resolve) => child.once('message', resolve));
  const dial = async (protocol) => {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.setNoDelay(true);
    socket.write(protocol);
    await new Promise((resolve) => socket.once('data', resolve));
    return socket;
  };
  const minimal = async () => floorClient(socketWire(await dial('minimal'), 'minimal-rpc'), 'minimal-rpc', 1000);
  const convoy = async () => {
    const caller = new layers.Endpoint(new layers.Channel(tcp(await dial('convoy'))));
    return (by) => caller.call('inc', [by]);
  };
  const arms = bare
    ? { 'minimal-rpc again': await minimal(), 'minimal-rpc': await minimal() }
    : { convoy: await convoy(), 'minimal-rpc': await minimal() };
  const [subject, baseline] = Object.keys(arms);

  /** µs per round trip over `count` sequential calls. */
  const window = async (inc, count) => {
    const started = performance.now();
    for (let i = 0; i < count; i++) await inc(1);
    return ((performance.now() - started) * 1000) / count;
  };
  for (const inc of Object.values(arms)) await window(inc, calls);
  const rows = [];
  for (let i = 0; i < pairs; i++) {
    const row = {};
    for (const name of i % 2 ? [subject, baseline] : [baseline, subject]) row[name] = await window(arms[name], calls);
    rows.push(row);
  }
  child.disconnect();

  const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
  const ratios = rows.map((row) => row[subject] / row[baseline]);
  console.log(
    `${pairs} pairs of ${calls} calls, two processes${bare ? ', no convoy loaded' : ''}, 1-minute load ${loadavg()[0].toFixed(1)}`,
  );
  for (const name of [subject, baseline]) console.log(`${name}: ${median(rows.map((r) => r[name])).toFixed(1)} µs per round trip`);
  console.log(
    `${subject} / ${baseline}: ${median(ratios).toFixed(3)}× (median of per-pair ratios; range ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`,
  );
  process.exit(0);
}
