/**
 * The shared-memory transport is loaded only by the threads that use it: a default thread or a process
 * never compiles it (each worker would pay for it at start), a thread with `sharedMemory` loads it before
 * its runtime starts and its channels run over the rings. From the sources (compiled one by one, as the
 * tests run), and from the package's bundle, where it is a chunk of its own.
 */
import { existsSync } from 'node:fs';
import test, { type ExecutionContext } from 'ava';
import { fixture, startFor, within } from './helpers/cluster.js';
import { runCompiled } from './helpers/compiled.js';
import { type ShmLoadingReport, shmLoadingReport, shmLoadingWorkers } from './fixtures/shm-loading-report.mjs';
import { repoFile } from './helpers/repo.js';

function check(t: ExecutionContext, report: ShmLoadingReport): void {
  t.deepEqual(report.loaded, { thread: false, process: false, shm1: true, shm2: true });
  t.deepEqual(report.answers, {
    thread: ['process', 'shm1', 'shm2'],
    process: ['thread', 'shm1', 'shm2'],
    shm1: ['thread', 'process', 'shm2'],
    shm2: ['thread', 'process', 'shm1'],
  });
  t.like(report.transports, {
    thread: { coordinator: 'port', shm1: 'port', shm2: 'port' },
    shm1: { coordinator: 'shm', thread: 'port', shm2: 'shm' },
    shm2: { coordinator: 'shm', shm1: 'shm' },
  });
  t.regex(report.transports.shm1!.process!, /^tcp/);
}

test('unbundled: only the threads with sharedMemory load the shared-memory transport, and their rings carry their calls', async (t) => {
  // The fixture imports the worker entry of the convoy this test runs (src/, compiled by tsc), not the
  // package's bundle.
  process.env.CONVOY_TEST_WORKER_ENTRY = new URL('../src/worker-api.js', import.meta.url).href;
  const cluster = await startFor(t, { workers: shmLoadingWorkers(fixture('shm-loading-worker.mjs')) });
  check(t, await within(shmLoadingReport(cluster), 30_000, 'the report'));
});

test('bundled, without tsx: only the threads with sharedMemory load the shared-memory chunk, and their rings carry their calls', async (t) => {
  if (!existsSync(repoFile('dist/bundle/shm.js'))) return t.fail('dist/bundle/ is not built: run `npm run build`');
  // No entry from source in its environment: its workers import the compiled `convoy/worker`.
  const { CONVOY_TEST_WORKER_ENTRY: _, ...env } = process.env;
  const out = await runCompiled(t, fixture('shm-loading-coordinator.mjs'), env);
  check(t, JSON.parse(out) as ShmLoadingReport);
});
