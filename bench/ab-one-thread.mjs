// A/B of two builds' Channel and Endpoint alone: both ends of a memory-transport pair in one thread, no
// worker, no port, no scheduler between the two ends. Builds alternate in 200 ms windows (first one, then
// the other, the order swapped each round); the report is the median of the per-round ratios new/old.
//
//   node bench/ab-one-thread.mjs <old checkout> <new checkout> [notify|pipelined] [rounds=20]
//
// notify: bursts of 500 notifies, then an awaited call; pipelined: 500 calls in flight, awaited together.
// Single rounds still swing (0.74-1.31 in an A/A run at load ~2), but the median of 20 held within a few
// percent in the runs that judged c95e733 (A/A 0.99); run it with the same checkout as both builds for
// its A/A beside any result.
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [oldDir, newDir, mode = 'notify', rounds = '20'] = process.argv.slice(2);
if (!oldDir || !newDir || !['notify', 'pipelined'].includes(mode)) {
  console.error('usage: node bench/ab-one-thread.mjs <old checkout> <new checkout> [notify|pipelined] [rounds]');
  process.exit(2);
}
const builds = {};
for (const [name, dir] of [
  ['old', oldDir],
  ['new', newDir],
]) {
  const m = await import(pathToFileURL(path.resolve(dir, 'dist/bundle/internals.js')).href);
  const [ta, tb] = m.createMemoryTransportPair();
  let n = 0;
  const a = new m.Endpoint(new m.Channel(ta, {}), { peerName: 'b' });
  new m.Endpoint(new m.Channel(tb, {}), {
    peerName: 'a',
    api: {
      inc(x) {
        n += x;
        return n;
      },
    },
  });
  builds[name] = a;
}
async function window(a, ms) {
  const end = performance.now() + ms;
  let count = 0;
  while (performance.now() < end) {
    if (mode === 'notify') {
      for (let i = 0; i < 500; i++) a.notify('inc', [1]);
      await a.call('inc', [0]);
      count += 501;
    } else {
      const ps = new Array(500);
      for (let i = 0; i < 500; i++) ps[i] = a.call('inc', [1]);
      await Promise.all(ps);
      count += 500;
    }
  }
  return count;
}
for (let i = 0; i < 6; i++) {
  await window(builds.old, 100);
  await window(builds.new, 100);
}
const ratios = [];
for (let r = 0; r < Number(rounds); r++) {
  const first = r % 2 ? 'new' : 'old';
  const second = first === 'old' ? 'new' : 'old';
  const x = { [first]: await window(builds[first], 200), [second]: await window(builds[second], 200) };
  ratios.push(x.new / x.old);
}
ratios.sort((p, q) => p - q);
const mid = ratios[Math.floor(ratios.length / 2)];
console.log(`${mode}: new/old median ${mid.toFixed(3)} (${ratios[0].toFixed(2)} – ${ratios.at(-1).toFixed(2)})`);
process.exit(0);
