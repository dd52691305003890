/**
 * The compiled package (`npm run build`: tsc, then the bundle) runs under plain `node`, without tsx: a
 * thread and a process start, each runs the bundle's first layer (core.js), and its module's imports of
 * `convoy/worker` and `convoy` share that copy of convoy — `notify()` from one entry works on the
 * proxies the other made.
 */
import { existsSync, readdirSync } from 'node:fs';
import test from 'ava';
import { fixture } from './helpers/cluster.js';
import { runCompiled } from './helpers/compiled.js';
import { repoFile } from './helpers/repo.js';

const BUNDLE = repoFile('dist/bundle/convoy.js');
const WORKER_ENTRY = repoFile('dist/bundle/worker.js');
const CORE = repoFile('dist/bundle/core.js');

interface Loaded {
  runtime: string;
  convoy: string;
  convoyWorker: string;
  tsx: boolean;
}

interface Report {
  convoy: string;
  loaded: { bt: Loaded; bp: Loaded };
  notesFromCoordinator: number;
  notesFromPeer: { bt: number; bp: number };
  pool: { sum: number; failure: unknown };
}

/** What compiled-coordinator.mjs reports of its pool task that fails. */
const POOL_FAILURE = {
  name: 'RemoteError',
  code: 'ERR_CONVOY_REMOTE',
  remoteName: 'RangeError',
  data: { code: 'E_COMPILED_POOL' },
  message: 'no',
};

test('without tsx, a compiled cluster starts and its workers run the bundle their imports of convoy resolve to', async (t) => {
  if (!existsSync(BUNDLE)) return t.fail('dist/bundle/ is not built: run `npm run build` (npm install does it)');
  const out = await runCompiled(t, fixture('compiled-coordinator.mjs'));
  const report = JSON.parse(out) as Report;
  t.is(report.convoy, BUNDLE.href, "the package's `convoy` is the bundle");
  for (const loaded of Object.values(report.loaded)) {
    t.deepEqual(loaded, { runtime: CORE.href, convoy: BUNDLE.href, convoyWorker: WORKER_ENTRY.href, tsx: false });
  }
  t.is(report.notesFromCoordinator, 1);
  t.deepEqual(report.notesFromPeer, { bt: 2, bp: 1 }, "a worker's notify() works on its peers' proxies");
  t.deepEqual(report.pool, { sum: 5, failure: POOL_FAILURE }, 'the pool runs its tasks and sends back their errors');
});

test('the bundle exports what the sources export, and no more: convoy.js the index, internals.js the internals, worker.js convoy/worker', async (t) => {
  if (!existsSync(BUNDLE)) return t.fail('dist/bundle/ is not built: run `npm run build` (npm install does it)');
  const load = (path: string) => import(new URL(path, import.meta.url).href) as Promise<Record<string, unknown>>;
  const loadRepo = (path: string) => import(repoFile(path).href) as Promise<Record<string, unknown>>;
  const [index, internals, workerApi, bundle, bundleInternals, bundleWorker, core] = await Promise.all([
    load('../src/index.js'),
    load('../src/internals.js'),
    load('../src/worker-api.js'),
    loadRepo('dist/bundle/convoy.js'),
    loadRepo('dist/bundle/internals.js'),
    loadRepo('dist/bundle/worker.js'),
    loadRepo('dist/bundle/core.js'),
  ]);
  const names = (module: object) => Object.keys(module).sort();
  // `import 'convoy'` at run time offers exactly what its types declare: the layers stay in convoy/internals.
  t.deepEqual(names(bundle), names(index));
  t.deepEqual(names(bundleInternals), names(internals));
  t.deepEqual(names(bundleWorker), names(workerApi));
  t.is(bundleWorker.notify, bundle.notify, 'worker.js and convoy.js share their modules');
  t.is(bundleInternals.Channel, core.Channel, 'internals.js and the worker runtime share their modules');
  // Every file links: each name a chunk imports from core.js is there (the lazy ones load only on use).
  const files = readdirSync(repoFile('dist/bundle/')).filter((file) => file.endsWith('.js'));
  await Promise.all(files.map((file) => loadRepo(`dist/bundle/${file}`)));
  t.true(files.includes('core.js') && files.includes('nats-main.js'));
});

test('every error class of the bundle is named as it is exported (an error names itself by its class)', async (t) => {
  if (!existsSync(BUNDLE)) return t.fail('dist/bundle/ is not built: run `npm run build` (npm install does it)');
  const bundle = (await import(BUNDLE.href)) as Record<string, unknown>;
  const errorClasses = Object.entries(bundle).filter(
    (entry): entry is [string, new (...args: never[]) => Error] =>
      typeof entry[1] === 'function' && (entry[1] as { prototype?: unknown }).prototype instanceof Error,
  );
  t.true(errorClasses.length >= 10, `found ${errorClasses.map(([name]) => name).join(', ')}`);
  for (const [exported, ErrorClass] of errorClasses) {
    t.is(ErrorClass.name, exported, `the class exported as ${exported}`);
    // The name an instance shows (and sends in wire form), where the constructor takes its usual arguments.
    const instance = Object.create(ErrorClass.prototype) as Error;
    t.is(instance.name, exported, `an instance of ${exported}`);
  }
  const { WorkerDiedError } = bundle as { WorkerDiedError: new (info: object) => Error & { forMethod(method: string): Error } };
  const died = new WorkerDiedError({ worker: 'b', reason: 'exit' });
  t.is(died.name, 'WorkerDiedError');
  t.is(died.forMethod('inc').name, 'WorkerDiedError', 'a death passed on to one call');
});

// node:crypto came back into core.js with the NATS transport's signatures (4f8babb), and every worker
// loaded it at its start, ~1.4 ms of CPU each, thread or process, NATS or not.
test('core.js, which every worker loads at its start, imports no built-in it needs only for a transport it may not use', async (t) => {
  const { readFile } = await import('node:fs/promises');
  const source = await readFile(CORE, 'utf8');
  const builtins = new Set([...source.matchAll(/^import\b[^;]*?\bfrom\s*"(node:[^"]+)"/gm)].map((match) => match[1]));
  t.true(builtins.has('node:worker_threads'), `the static imports were read: ${[...builtins].join(', ')}`);
  // TCP (node:net, node:crypto for its handshake) and NATS (node:crypto for its signatures) load on first use.
  for (const lazy of ['node:crypto', 'node:net', 'node:tls', 'node:inspector'])
    t.false(builtins.has(lazy), `${lazy} is imported by core.js`);
});
