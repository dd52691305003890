// Paired A/B of two convoy builds on real workers, for judging a change on a shared, noisy machine:
//
//   node --import tsx bench/ab.ts --old <checkout> [--new <checkout>] [--pair coord-process] [--mode pipelined]
//                                 [--rounds 10] [--window-ms 1000] [--options '{"sharedMemory":true}']
//
// Each checkout must have been built (`npm run build`: its dist/ is what runs). One cluster per build runs
// in this process; they take turns, one window each per round (the order alternates, as in interleave.ts),
// and the report is the median of the per-round ratios new/old: the machine's drift hits both builds of a
// round alike.
// `--options`: cluster options (JSON) both builds start with.
// Modes: `pipelined` (1000 calls in flight, calls/s), `rtt` (one call at a time, 3000 calls, p50 as calls/s
// so that higher is better), `notify` (worker → peer bursts of 1000 notifies; needs a worker caller).
// Example: git worktree add /tmp/base HEAD~1 && (cd /tmp/base && ln -s $PWD/node_modules . && npm run build)
//          node --import tsx bench/ab.ts --old /tmp/base --pair thread-thread

import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { BenchApi } from './fixtures/bench-worker.mjs';
import { alternate, spread } from './interleave.js';
import { INFLIGHT, pipelined, roundTrips } from './measure.js';

const { values: args } = parseArgs({
  options: {
    old: { type: 'string' },
    new: { type: 'string', default: fileURLToPath(new URL('..', import.meta.url)) },
    pair: { type: 'string', default: 'coord-process' },
    mode: { type: 'string', default: 'pipelined' },
    rounds: { type: 'string', default: '10' },
    'window-ms': { type: 'string', default: '1000' },
    options: { type: 'string', default: '{}' },
  },
});
if (!args.old) throw new Error('--old <checkout> is required (a built convoy checkout to compare with)');
const [callerKind, calleeKind] = args.pair!.split('-') as ['coord' | 'thread' | 'process', 'thread' | 'process'];
if (!['coord', 'thread', 'process'].includes(callerKind) || !['thread', 'process'].includes(calleeKind)) {
  throw new Error(`--pair: expected coord-thread, thread-thread, coord-process or process-process, got ${args.pair}`);
}
const mode = args.mode!;
if (!['pipelined', 'rtt', 'notify'].includes(mode)) throw new Error(`--mode: expected pipelined, rtt or notify, got ${mode}`);
if (mode === 'notify' && callerKind === 'coord') throw new Error('--mode notify needs a worker caller (thread-thread, process-process)');
const windowMs = Number(args['window-ms']);
const rounds = Number(args.rounds);
const clusterOptions = JSON.parse(args.options!) as Record<string, unknown>;

type Convoy = typeof import('../src/index.js');

async function open(root: string): Promise<{ run: () => Promise<number>; close: () => Promise<void> }> {
  // What the package exports: the bundle, in a checkout that builds one; before that, tsc's files.
  const bundle = path.join(path.resolve(root), 'dist/bundle/convoy.js');
  const index = existsSync(bundle) ? bundle : path.join(path.resolve(root), 'dist/src/index.js');
  const convoy = (await import(pathToFileURL(index).href)) as Convoy;
  // The bench worker loads the convoy named by CONVOY_BENCH_INDEX: this build's, in both threads and processes.
  const spec = (name: string, kind: 'thread' | 'process') => ({
    name,
    kind,
    module: pathToFileURL(path.join(path.resolve(root), 'bench/fixtures/bench-worker.mjs')),
    env: { CONVOY_BENCH_INDEX: index },
  });
  const workers = callerKind === 'coord' ? [spec('callee', calleeKind)] : [spec('caller', callerKind), spec('callee', calleeKind)];
  const cluster = await convoy.startCluster({ ...clusterOptions, workers });
  const callee = cluster.worker<BenchApi>('callee');
  const caller = callerKind === 'coord' ? undefined : cluster.worker<BenchApi>('caller');
  // One call at a time, from whoever calls (a worker measures its own calls to its peer); 1 / p50.
  const rtt = async (): Promise<number> => {
    const { p50 } = caller ? await caller.pingPeer('callee', 3000) : await roundTrips(() => callee.inc(1), 3000);
    return 1_000_000 / p50;
  };
  const run = (): Promise<number> => {
    if (mode === 'rtt') return rtt();
    if (mode === 'notify') return caller!.benchNotify('callee', windowMs, INFLIGHT);
    return caller ? caller.benchPeer('callee', windowMs, INFLIGHT) : pipelined(() => callee.inc(1), INFLIGHT, windowMs);
  };
  // Warm both sides up (V8 optimises convoy's path after tens of thousands of calls).
  for (let i = 0; i < 3; i++) await run();
  return { run, close: () => cluster.close() };
}

const builds = { old: await open(args.old), new: await open(args.new!) };
// The same alternation as every target's (interleave.ts): new first in even rounds, old first in odd ones.
const pairs = await alternate(builds.new.run, builds.old.run, rounds, 0);
await builds.old.close();
await builds.new.close();

const ratios = spread(pairs.map(([n, o]) => n / o));
const unit = mode === 'rtt' ? 'calls/s one at a time (1 / p50)' : `${mode === 'notify' ? 'notifies' : 'calls'}/s`;
console.log(`${args.pair} ${mode} ${args.options}, ${rounds} rounds, ${unit}`);
console.log(`  old ${Math.round(spread(pairs.map(([, o]) => o)).median)}   new ${Math.round(spread(pairs.map(([n]) => n)).median)}`);
console.log(
  `  paired new/old: median ${ratios.median.toFixed(3)} (${ratios.min.toFixed(2)} – ${ratios.max.toFixed(2)}; ${pairs.map(([n, o]) => (n / o).toFixed(2)).join(' ')})`,
);
