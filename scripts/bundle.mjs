// `npm run build`, after tsc: bundles what a compiled convoy runs into dist/bundle/ with esbuild, in two
// layers, so that a worker thread or process loads one file of convoy:
//   core.js       the worker runtimes (src/bundle-worker.ts) and every module they use, in one file, which
//                 also exports every name of those modules for the second layer
//   worker.js     `convoy/worker`: core.js's names of src/worker-api.ts
//   convoy.js     `convoy`: the public API (src/index.ts) and nothing more: the coordinator's code, importing
//                 what core.js has from core.js (one copy of each module, whichever entry loaded it)
//   internals.js  `convoy/internals` (src/internals.ts): the layers under the API; what it shares with
//                 convoy.js is in core.js or a shared chunk
//   nats-main.js  the runtime of a worker an agent starts; it, the NATS transport, the shared-memory
//                 transport (shm.js) and the coordinator's lazy parts (the dashboard server, clusters
//                 across hosts) are second-layer chunks
//   agent-cli.js  `convoy agent`: a process of its own, so a copy of its own
// A worker runs core.js alone: loading each further file (resolve, read, compile, link) costs every
// worker more than the size of its code does. Packages stay imports, not copies (msgpackr loads its native accelerator from its own
// folder; the NATS client, piscina and prom-client load where convoy imports them lazily). Every file is
// built with CONVOY_BUNDLED defined, by which src/cluster/paths.ts finds the bundle's entries.
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../', import.meta.url));
const outdir = path.resolve(root, process.env.CONVOY_BUNDLE_DIR ?? 'dist/bundle');
rmSync(outdir, { recursive: true, force: true });

const common = {
  absWorkingDir: root,
  outdir,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  packages: 'external',
  define: { CONVOY_BUNDLED: 'true' },
  // No keepNames: it wraps every function and class in a naming call that each worker runs at start and
  // some calls run on every use. Only a class's name matters (an error's `name`), and checkClassNames
  // fails the build if the bundler renamed one to avoid a clash.
  keepNames: false,
  sourcemap: true,
  logLevel: 'warning',
};

/**
 * The first layer's modules that are second-layer entries, loaded lazily: `import()`ed by their file name.
 * A worker loads them only when it uses them: the NATS transport for a pair across hosts, the
 * shared-memory transport for a thread that opts in to it.
 */
const LAZY = ['src/transport/nats-connect.ts', 'src/transport/nats-hub.ts', 'src/transport/shm.ts'];
const lazyName = (file) => path.basename(file, '.ts');

/** Relative imports of `.js` names, resolved to the TypeScript file they name. */
const sourceOf = (args) => path.resolve(args.resolveDir, args.path).replace(/\.js$/, '.ts');

/** Leaves the lazy modules out of the first layer, as imports of their own entries. */
const keepLazy = {
  name: 'keep-lazy',
  setup(b) {
    b.onResolve({ filter: /^\./ }, (args) => {
      const file = path.relative(root, sourceOf(args));
      return LAZY.includes(file) ? { path: `./${lazyName(file)}.js`, external: true } : undefined;
    });
  },
};

// The first layer's modules: what the worker runtimes import.
const probe = await build({ ...common, entryPoints: ['src/bundle-worker.ts'], write: false, metafile: true, plugins: [keepLazy] });
const coreModules = Object.keys(probe.metafile.inputs).filter((input) => input.startsWith('src/'));
// Entries that only re-export the modules below add no name of their own.
const REEXPORTS = ['src/bundle-worker.ts', 'src/worker-api.ts'];
const barrelModules = coreModules.filter((file) => !REEXPORTS.includes(file));
await checkNoClashes(barrelModules);
const barrel = barrelModules.map((file) => `export * from './${file}';`).join('\n');
await build({
  ...common,
  stdin: { contents: barrel, resolveDir: root, sourcefile: 'core-barrel.ts', loader: 'ts' },
  outfile: path.join(outdir, 'core.js'),
  outdir: undefined,
  plugins: [keepLazy],
});

/** The second layer imports a first-layer module from core.js. */
const fromCore = {
  name: 'from-core',
  setup(b) {
    // The re-exporting entries are bundled again here: esbuild keeps an `export *` of an external module
    // only in an entry point, so each of their names is imported from core.js by name instead.
    const core = new Set(barrelModules.map((file) => path.join(root, file)));
    b.onResolve({ filter: /^\./ }, (args) => (core.has(sourceOf(args)) ? { path: './core.js', external: true } : undefined));
  },
};
await build({
  ...common,
  entryPoints: {
    convoy: 'src/index.ts',
    internals: 'src/internals.ts',
    'nats-main': 'src/worker/nats-main.ts',
    ...Object.fromEntries(LAZY.map((f) => [lazyName(f), f])),
  },
  splitting: true,
  chunkNames: 'chunk-[hash]',
  plugins: [fromCore],
});
await build({ ...common, entryPoints: { 'agent-cli': 'src/agent/cli.ts' } });

/** The names a module exports, as the bundler sees them. */
async function exportsOf(entry, plugins = []) {
  const { metafile } = await build({ ...common, entryPoints: [entry], write: false, metafile: true, sourcemap: false, plugins });
  return Object.values(metafile.outputs).find((output) => output.entryPoint === entry).exports;
}

/** core.js exports every name of every first-layer module: two modules exporting one name would hide it. */
async function checkNoClashes(files) {
  const seen = new Map();
  for (const file of files) {
    for (const name of await exportsOf(file, [keepLazy])) {
      if (seen.has(name)) throw new Error(`bundle: ${file} and ${seen.get(name)} both export "${name}"; rename one`);
      seen.set(name, file);
    }
  }
}

/**
 * A class the bundler renamed would carry that name at run time, and errors name themselves by their
 * class. Fails the build naming the class, for two renamings: `Foo2`, where two modules of one file each
 * declare a `Foo`; and, for an error class, `var Foo = class _Foo`, which a class that names itself in
 * its own body becomes (`_Foo` is then its name; other classes' names are not shown to users).
 */
function checkClassNames() {
  const classes = new Set();
  const errorClasses = new Set();
  for (const file of readdirSync(path.join(root, 'src'), { recursive: true }).filter((f) => f.endsWith('.ts'))) {
    const source = readFileSync(path.join(root, 'src', file), 'utf8');
    for (const [, name] of source.matchAll(/\bclass (\w+)/g)) classes.add(name);
    for (const [, name] of source.matchAll(/\bclass (\w+) extends \w*Error\b/g)) errorClasses.add(name);
  }
  for (const file of readdirSync(outdir).filter((f) => f.endsWith('.js'))) {
    const code = readFileSync(path.join(outdir, file), 'utf8');
    // `class Foo2 {`, or `var Foo2 = class {` (a class with private fields, lowered).
    for (const [, declared, assigned] of code.matchAll(/\bclass (\w+\d)\b|\b(\w+\d) = class\b/g)) {
      const name = declared ?? assigned;
      const base = name.replace(/\d+$/, '');
      if (classes.has(base) && !classes.has(name))
        throw new Error(`bundle: class ${base} is renamed ${name} in ${file}; rename one of the classes named ${base}`);
    }
    for (const [, name] of code.matchAll(/\b(\w+) = class _\1\b/g)) {
      if (errorClasses.has(name))
        throw new Error(`bundle: error class ${name} is named _${name} in ${file}: it names itself in its own body; make it outside`);
    }
  }
}
checkClassNames();

const reexport = (names, from) => `export { ${names.join(', ')} } from './${from}';\n`;
writeFileSync(path.join(outdir, 'worker.js'), reexport(await exportsOf('src/worker-api.ts'), 'core.js'));

/**
 * The compiled examples (the `convoy` command's bank, counter and replication, and their workers) use
 * convoy's public API only: they import it from the bundle, as an application's `import 'convoy'` does,
 * rather than from tsc's module-per-file copy in dist/src. A worker then loads convoy once (core.js, which
 * its runtime has already loaded) instead of a second time in ~100 files: ~70 ms of each bank worker's
 * start and restart here. Any other import from dist/src in an example fails the build.
 */
function pointExamplesAtBundle() {
  const examples = path.join(root, 'dist/examples');
  for (const file of readdirSync(examples, { recursive: true }).filter((f) => f.endsWith('.js'))) {
    const full = path.join(examples, file);
    const fromApi = path.relative(path.dirname(full), path.join(root, 'dist/src/index.js')).split(path.sep).join('/');
    const toBundle = path.relative(path.dirname(full), path.join(outdir, 'convoy.js')).split(path.sep).join('/');
    const code = readFileSync(full, 'utf8');
    const pointed = code.replaceAll(`from '${fromApi}'`, `from '${toBundle}'`);
    if (/\bfrom\s*['"][^'"]*\/src\/|\bimport\(\s*['"][^'"]*\/src\//.test(pointed)) {
      throw new Error(`bundle: dist/examples/${file} imports from dist/src other than its public API`);
    }
    if (pointed !== code) writeFileSync(full, pointed);
  }
}
pointExamplesAtBundle();
