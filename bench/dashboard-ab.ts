// Paired A/B of the dashboard's cost: the same cluster measured in alternating windows with a page open
// on its dashboard (a viewer streaming /events at 1 s, in its own process, parsing every message) and with
// nobody watching. One process, one build; the report is the median of the per-round ratios watched/unwatched.
//
//   npm run build && node --import tsx bench/dashboard-ab.ts [--pairs coord-thread,thread-thread,coord-process,process-process]
//                                                            [--modes pipelined,rtt] [--rounds 10] [--window-ms 3000] [--refresh-ms 1000]
//
// The always-on part (sampled caller latency) is in both windows: compare builds for it with bench/ab.ts.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { BenchApi } from './fixtures/bench-worker.mjs';
import { INFLIGHT, pipelined, roundTrips } from './measure.js';

const { values: args } = parseArgs({
  options: {
    pairs: { type: 'string', default: 'coord-thread,thread-thread,coord-process,process-process' },
    modes: { type: 'string', default: 'pipelined,rtt' },
    rounds: { type: 'string', default: '10' },
    'window-ms': { type: 'string', default: '3000' },
    'refresh-ms': { type: 'string', default: '1000' },
  },
});
const rounds = Number(args.rounds);
const windowMs = Number(args['window-ms']);
const refreshMs = Number(args['refresh-ms']);
const root = fileURLToPath(new URL('..', import.meta.url));
const index = `${root}dist/src/index.js`;
type Convoy = typeof import('../src/index.js');
const convoy = (await import(pathToFileURL(index).href)) as Convoy;

/** The viewer process: `open()` resolves once it streams, `close()` once it hung up. */
function startViewer() {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./dashboard-viewer.mjs', import.meta.url))], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const command = async (line: string, answer: string) => {
    child.stdin!.write(`${line}\n`);
    const { value } = await lines.next();
    if (value !== answer) throw new Error(`viewer: expected "${answer}", got "${value}"`);
  };
  return {
    open: (url: string) => command(`open ${url} ${refreshMs}`, 'open'),
    close: () => command('close', 'closed'),
    async stop() {
      child.stdin!.end();
      await once(child, 'exit');
    },
  };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const viewer = startViewer();

for (const pair of args.pairs!.split(',')) {
  const [callerKind, calleeKind] = pair.split('-') as ['coord' | 'thread' | 'process', 'thread' | 'process'];
  const spec = (name: string, kind: 'thread' | 'process') => ({
    name,
    kind,
    module: pathToFileURL(`${root}bench/fixtures/bench-worker.mjs`),
    env: { CONVOY_BENCH_INDEX: index },
  });
  const workers = callerKind === 'coord' ? [spec('callee', calleeKind)] : [spec('caller', callerKind), spec('callee', calleeKind)];
  const cluster = await convoy.startCluster({ workers, dashboard: { port: 0, refreshMs } });
  const callee = cluster.worker<BenchApi>('callee');
  const caller = callerKind === 'coord' ? undefined : cluster.worker<BenchApi>('caller');
  for (const mode of args.modes!.split(',')) {
    const run = async (): Promise<number> => {
      if (mode === 'rtt') {
        // One call at a time for the whole window, reported as 1 / p50 (higher is better).
        const count = Math.max(500, Math.round(windowMs * 8));
        const { p50 } = caller ? await caller.pingPeer('callee', count) : await roundTrips(() => callee.inc(1), count);
        return 1_000_000 / p50;
      }
      return caller ? caller.benchPeer('callee', windowMs, INFLIGHT) : pipelined(() => callee.inc(1), INFLIGHT, windowMs);
    };
    for (let i = 0; i < 2; i++) await run(); // warm-up
    const ratios: number[] = [];
    const rates = { watched: [] as number[], unwatched: [] as number[] };
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? (['watched', 'unwatched'] as const) : (['unwatched', 'watched'] as const);
      const got: Partial<Record<'watched' | 'unwatched', number>> = {};
      for (const which of order) {
        if (which === 'watched') await viewer.open(cluster.dashboardUrl!);
        got[which] = await run();
        if (which === 'watched') await viewer.close();
      }
      rates.watched.push(got.watched!);
      rates.unwatched.push(got.unwatched!);
      ratios.push(got.watched! / got.unwatched!);
    }
    const unit = mode === 'rtt' ? 'calls/s one at a time (1 / p50)' : 'calls/s';
    console.log(`${pair} ${mode}, ${rounds} rounds of ${windowMs} ms, ${unit}, page at ${refreshMs} ms`);
    console.log(`  unwatched ${Math.round(median(rates.unwatched))}   watched ${Math.round(median(rates.watched))}`);
    console.log(`  paired watched/unwatched: median ${median(ratios).toFixed(3)}  (${ratios.map((r) => r.toFixed(2)).join(' ')})`);
  }
  await cluster.close();
}
await viewer.stop();
