// What sending costs the sender alone, with no receiver and no scheduling in the figure: one thread sends
// notifies through a remote (`notify(remote).inc(1)`, bursts of 1000, as the bench's notify arm does) into
// an Endpoint and Channel whose transport drops every frame. Two checkouts' sources (through tsx) take
// turns in 300 ms windows, the order alternating; the report is each one's median ns per notify and the
// median of per-pair ratios new/old. Each checkout loads its own copy of the modules, and which one loads
// second has run a few percent faster here: run it both ways round before believing a small difference.
//
//   node --import tsx bench/send-cost.ts --old <checkout> [--new <checkout>] [--pairs 15]
// A checkout needs its node_modules (a worktree: `ln -s $PWD/node_modules /tmp/base/`); nothing is built.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { alternate, spread } from './interleave.js';

const { values: args } = parseArgs({
  options: {
    old: { type: 'string' },
    new: { type: 'string', default: fileURLToPath(new URL('..', import.meta.url)) },
    pairs: { type: 'string', default: '15' },
  },
});
if (!args.old) throw new Error('--old <checkout> is required');
const rounds = Number(args.pairs);
const BURST = 1000;
const WINDOW_MS = 300;

type Window = () => Promise<number>;

/** A sender built from `root`'s sources: each window returns ns per notify. */
async function sender(root: string): Promise<Window> {
  const load = (file: string) => import(pathToFileURL(path.resolve(root, 'src', file)).href);
  const { Channel } = await load('channel/channel.ts');
  const { Endpoint } = await load('rpc/endpoint.ts');
  const { createRemote, notify } = await load('rpc/remote.ts');
  const dropped = {
    kind: 'null',
    label: 'drops every frame',
    transfers: true,
    send: () => true,
    start() {},
    close() {},
    destroy() {},
  };
  // A window so large that no notify waits for an acknowledgement that never comes.
  const endpoint = new Endpoint(new Channel(dropped, { maxQueuedBytes: 2 ** 50 }));
  const oneWay = notify(createRemote(endpoint)) as { inc(by: number): Promise<void> };
  return async () => {
    const start = performance.now();
    const deadline = start + WINDOW_MS;
    let sent = 0;
    while (performance.now() < deadline) {
      let last: Promise<void> | undefined;
      for (let i = 0; i < BURST; i++) last = oneWay.inc(1);
      sent += BURST;
      await last;
      await new Promise((resolve) => setImmediate(resolve));
    }
    return ((performance.now() - start) * 1e6) / sent;
  };
}

const old = await sender(args.old);
const now = await sender(args.new!);
// One warm-up round, then pairs of windows, the first of each pair alternating (interleave.ts).
const pairs = await alternate(now, old, rounds);
const news = spread(pairs.map(([n]) => n));
const olds = spread(pairs.map(([, o]) => o));
const ratios = spread(pairs.map(([n, o]) => n / o));
console.log(
  `old ${olds.median.toFixed(1)} ns per notify, new ${news.median.toFixed(1)}; new/old median ${ratios.median.toFixed(3)} ` +
    `(${ratios.min.toFixed(2)} – ${ratios.max.toFixed(2)}), ${rounds} pairs of ${WINDOW_MS} ms windows`,
);
