/**
 * A cluster of 128 workers, threads and processes mixed, starts with default options on a 2-core machine
 * and every worker answers; nothing is wired at start (pairs open on first use). The start's speed is the
 * benchmark's business; here the bound is only generous enough that a hang cannot pass.
 *
 * It runs the compiled library as users do (the bundle the package exports, built by `npm install`): from
 * the sources every one of the 128 workers would first load TypeScript support, which is the test's cost,
 * not convoy's.
 */
import { existsSync } from 'node:fs';
import test from 'ava';
import type * as Convoy from '../src/index.js';
import { fixture, within } from './helpers/cluster.js';
import { repoFile } from './helpers/repo.js';

const COMPILED = repoFile('dist/bundle/convoy.js');
const WORKERS = 128;

test('128 workers, threads and processes mixed, start with defaults and each answers a call', async (t) => {
  t.timeout(240_000);
  if (!existsSync(COMPILED)) return t.fail('dist/ is not built: run `npm run build` (npm install does it)');
  const { startCluster } = (await import(COMPILED.href)) as typeof Convoy;
  const workers = Array.from({ length: WORKERS }, (_, i) => ({
    name: `w${i}`,
    module: fixture('compiled-worker.mjs'),
    kind: i % 2 === 0 ? ('thread' as const) : ('process' as const),
  }));
  const started = performance.now();
  const starting = startCluster({ workers });
  t.teardown(async () => (await starting.catch(() => undefined))?.close());
  const cluster = await within(starting, 180_000, `startCluster with ${WORKERS} workers`);
  t.log(`${WORKERS} mixed workers started in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const stats = await cluster.stats();
  t.is(
    stats.workers.reduce((open, w) => open + w.peers.length, 0),
    0,
    'no peer channel is opened by the start',
  );
  const names = await within(
    Promise.all(cluster.names.map((name) => cluster.worker<{ whoami(): string }>(name).whoami())),
    60_000,
    'a call to each',
  );
  t.deepEqual(names, cluster.names);
  await cluster.close();
});
