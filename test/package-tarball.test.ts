/**
 * What `npm pack` publishes works on its own: unpacked into another project's node_modules, beside only
 * the dependencies package.json names, a coordinator run by plain `node` resolves `convoy` and
 * `convoy/worker` to the package, starts a thread and a process, and its workers run the packed bundle;
 * the `convoy` command runs an example from the package. This is what the repository's own tests cannot
 * see: a file left out of `files`, an `exports` entry pointing at nothing, a dependency used but not declared.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';
import { runCompiled } from './helpers/compiled.js';
import { repoRoot } from './helpers/repo.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(repoRoot);
const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  bin: Record<string, string>;
};

interface Packed {
  filename: string;
  files: { path: string }[];
}

interface Loaded {
  runtime: string;
  convoy: string;
  convoyWorker: string;
  tsx: boolean;
}

/** Packs the repository as it is built (no `prepare`: the build is the test run's, not this test's). */
async function pack(into: string): Promise<Packed> {
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', into], { cwd: ROOT });
  return (JSON.parse(stdout) as Packed[])[0]!;
}

test('the packed package runs from another project without tsx: both entries, a thread, a process, a pool, and the convoy command', async (t) => {
  if (!existsSync(path.join(ROOT, 'dist/bundle/convoy.js'))) return t.fail('dist/ is not built: run `npm run build` (npm install does it)');
  const dir = mkdtempSync(path.join(tmpdir(), 'convoy-packed-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  const packed = await pack(dir);
  const files = packed.files.map((file) => file.path);
  for (const prefix of ['src/', 'test/', 'bench/', 'scripts/', 'node_modules/']) {
    t.deepEqual(
      files.filter((file) => file.startsWith(prefix) && file !== 'bench/README.md'),
      [],
      `nothing under ${prefix} is published (but the bench's README, which the README links)`,
    );
  }
  // convoy runs from its bundle, the examples behind the `convoy` command included: tsc's module-per-file
  // output is published for its types only.
  t.deepEqual(
    files.filter((file) => file.startsWith('dist/src/') && !file.endsWith('.d.ts')),
    [],
    'dist/src holds only type declarations',
  );
  t.true(files.includes('dist/src/index.d.ts') && files.includes('dist/bundle/convoy.js'), 'the types and the bundle are there');
  // The links between the published pages (the README, docs/, the bench's README, the picture) lead
  // somewhere in the package too.
  const pages = files.filter((file) => file.endsWith('.md'));
  const links = pages.flatMap((page) =>
    [...readFileSync(path.join(ROOT, page), 'utf8').matchAll(/\]\(([^)#:]+)(?:#[^)]*)?\)/g)].map((match) => ({
      page,
      target: path.posix.join(path.posix.dirname(page), match[1]!),
    })),
  );
  t.true(
    links.some((link) => link.page === 'README.md' && link.target.startsWith('docs/')),
    'the README links its docs',
  );
  t.deepEqual(
    links.filter((link) => !files.includes(link.target)),
    [],
    'every page a published page links is published',
  );

  // An app whose node_modules holds the unpacked package and, beside it, only its declared dependencies.
  const app = path.join(dir, 'app');
  const installed = path.join(app, 'node_modules', 'convoy');
  mkdirSync(installed, { recursive: true });
  await run('tar', ['xzf', path.join(dir, packed.filename), '-C', installed, '--strip-components=1']);
  for (const dependency of Object.keys(manifest.dependencies)) {
    symlinkSync(path.join(ROOT, 'node_modules', dependency), path.join(app, 'node_modules', dependency), 'dir');
  }
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  for (const script of ['compiled-coordinator.mjs', 'compiled-worker.mjs', 'compiled-pool-tasks.mjs']) {
    copyFileSync(path.join(ROOT, 'test/fixtures', script), path.join(app, script));
  }

  const report = JSON.parse(await runCompiled(t, pathToFileURL(path.join(app, 'compiled-coordinator.mjs')))) as {
    convoy: string;
    loaded: Record<string, Loaded>;
    notesFromPeer: Record<string, number>;
    pool: { sum: number; failure: unknown };
  };
  const bundle = (name: string) => pathToFileURL(path.join(installed, 'dist/bundle', name)).href;
  t.is(report.convoy, bundle('convoy.js'), "the app's `convoy` is the unpacked package");
  for (const name of ['bt', 'bp']) {
    t.deepEqual(
      report.loaded[name],
      { runtime: bundle('core.js'), convoy: bundle('convoy.js'), convoyWorker: bundle('worker.js'), tsx: false },
      name,
    );
  }
  t.deepEqual(report.notesFromPeer, { bt: 2, bp: 1 });
  // Its threads take convoy's error classes and wire form from the packed bundle (dist/src's modules are
  // not published: before, a pool thread failed to load here).
  t.deepEqual(
    report.pool,
    {
      sum: 5,
      failure: {
        name: 'RemoteError',
        code: 'ERR_CONVOY_REMOTE',
        remoteName: 'RangeError',
        data: { code: 'E_COMPILED_POOL' },
        message: 'no',
      },
    },
    'the packed pool runs tasks and sends back their errors',
  );

  const bin = path.join(installed, manifest.bin.convoy!);
  const { stdout } = await run(process.execPath, [bin, 'counter', '--rounds', '200', '--kind', 'process', '--json'], {
    cwd: app,
    timeout: 60_000,
  });
  const counter = JSON.parse(stdout) as { inOrder: boolean; last: number };
  t.true(counter.inOrder, 'the packed counter example keeps order');
  t.is(counter.last, 200);
});

// A review's: a member marked @internal was in the published declarations, so `cluster.start()` (a second
// start spawned every worker again) type-checked in a user's code. The constructors stay declared: left
// out, a class takes its parent's (EventEmitter's), and `new Cluster()` type-checked.
test('the published declarations leave out what is @internal, and keep the constructors', (t) => {
  if (!existsSync(path.join(ROOT, 'dist/src/index.d.ts'))) return t.fail('dist/ is not built: run `npm run build` (npm install does it)');
  const cluster = readFileSync(path.join(ROOT, 'dist/src/cluster/cluster.d.ts'), 'utf8');
  const context = readFileSync(path.join(ROOT, 'dist/src/worker/context.d.ts'), 'utf8');
  t.true(cluster.includes('declare class Cluster') && cluster.includes('close('), 'the public members are there');
  t.false(/\bstart\(\): Promise<void>/.test(cluster), 'Cluster.start()');
  t.regex(cluster, /constructor\(options: ClusterOptions\)/);
  t.regex(context, /constructor\(init: \{/);
});
