// `npm run build`, after tsc: bundles what a compiled convoy runs into dist/bundle/ with esbuild.
//   worker.js     src/bundle-worker.ts: `convoy/worker` and the worker runtimes, which every worker thread
//                 and process loads (plus a few chunks)
//   convoy.js     src/bundle.ts: the public API and the internals (the coordinator's code on top)
//   internals.js  `convoy/internals`: convoy.js's names of src/internals.ts
//   nats-main.js  the runtime of a worker an agent starts, from worker.js
//   agent-cli.js  `convoy agent`: a process of its own, so a copy of its own
// The first two share chunks, so each module of convoy exists once whichever entry loaded it; lazy
// parts (the dashboard server, clusters across hosts, the NATS client) are chunks loaded on first use.
// Packages stay imports, not copies (msgpackr loads its native accelerator from its own folder). Every
// file is built with CONVOY_BUNDLED defined, by which src/cluster/paths.ts finds the bundle's entries.
import { rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const root = new URL('../', import.meta.url);
const outdir = new URL('dist/bundle/', root);
rmSync(outdir, { recursive: true, force: true });

const common = {
  absWorkingDir: root.pathname,
  outdir: outdir.pathname,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  packages: 'external',
  define: { CONVOY_BUNDLED: 'true' },
  // Classes keep their names (errors' `name`, stack traces) where the bundler renames one to avoid a clash.
  keepNames: true,
  sourcemap: true,
  logLevel: 'warning',
};

await build({
  ...common,
  entryPoints: { convoy: 'src/bundle.ts', worker: 'src/bundle-worker.ts' },
  splitting: true,
  chunkNames: 'chunk-[hash]',
});
await build({ ...common, entryPoints: { 'agent-cli': 'src/agent/cli.ts' } });

/** The names a module exports, as the bundler sees them. */
async function exportsOf(entry) {
  const { metafile } = await build({ ...common, entryPoints: [entry], write: false, metafile: true, sourcemap: false });
  return Object.values(metafile.outputs).find((output) => output.entryPoint === entry).exports;
}

const internals = await exportsOf('src/internals.ts');
writeFileSync(new URL('internals.js', outdir), `export { ${internals.join(', ')} } from './convoy.js';\n`);
writeFileSync(
  new URL('nats-main.js', outdir),
  `export { runRemoteThread as runThread, runRemoteProcess as runProcess } from './worker.js';\n`,
);
