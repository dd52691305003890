// Which convoy the scenarios measure: the compiled build (dist/, `npm run build`) when it is there and
// up to date, else the TypeScript sources through tsx. Compiled is preferred: from source every spawned
// worker registers tsx first (~0.3–0.7 s each), which swamps start-up figures.
//
// CONVOY_BENCH_FROM=dist|source forces one. The fixtures (bench/fixtures/*.mjs) load the same build as the
// coordinator through CONVOY_BENCH_INDEX, which spawned threads and processes inherit: `notify()` and the
// proxies must come from the very module instance the worker runtime uses.

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

type Convoy = typeof import('../../src/index.js');

const root = fileURLToPath(new URL('../../', import.meta.url));
/** What the package exports (`import 'convoy'`): the bundle `npm run build` makes after tsc. */
const distIndex = path.join(root, 'dist/bundle/convoy.js');
const srcIndex = path.join(root, 'src/index.ts');

/** Source files newer than their compiled counterpart or the bundle (or not compiled at all). */
function staleFiles(): string[] {
  const out: string[] = [];
  const bundledMs = statSync(distIndex).mtimeMs;
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        const compiled = path.join(root, 'dist', path.relative(root, file)).replace(/\.ts$/, '.js');
        const editedMs = statSync(file).mtimeMs;
        if (!existsSync(compiled) || statSync(compiled).mtimeMs < editedMs || bundledMs < editedMs) out.push(path.relative(root, file));
      }
    }
  };
  walk(path.join(root, 'src'));
  return out;
}

function choose(): { flavor: 'dist' | 'source'; note: string } {
  const forced = process.env.CONVOY_BENCH_FROM;
  if (forced === 'dist' || forced === 'source') return { flavor: forced, note: `forced by CONVOY_BENCH_FROM=${forced}` };
  if (!existsSync(distIndex)) return { flavor: 'source', note: 'dist/ not built (`npm run build` for compiled workers)' };
  const stale = staleFiles();
  if (stale.length > 0) {
    return {
      flavor: 'source',
      note: `dist/ is older than ${stale.slice(0, 3).join(', ')}${stale.length > 3 ? ` and ${stale.length - 3} more` : ''}; run \`npm run build\` to bench compiled code`,
    };
  }
  return { flavor: 'dist', note: 'dist/ is up to date' };
}

const chosen = choose();

/** `dist` (compiled, no tsx in workers) or `source` (src/ through tsx, in the coordinator and every worker). */
export const flavor = chosen.flavor;
/** Why this flavour was picked. */
export const flavorNote = chosen.note;
/** The commit measured, `+dirty` when src/ has uncommitted changes (recorded in the JSON). */
export const revision = (() => {
  try {
    const git = (...a: string[]) => execFileSync('git', a, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--', 'src') ? '+dirty' : ''}`;
  } catch {
    return 'unknown';
  }
})();

/** For group headings: which build the figures are of. */
export const flavorLabel = flavor === 'dist' ? 'compiled dist/' : 'from source via tsx';

const index = pathToFileURL(flavor === 'dist' ? distIndex : srcIndex).href;
process.env.CONVOY_BENCH_INDEX = index;
/** What the bench's worker module imports: the same build's `convoy/worker`. */
process.env.CONVOY_BENCH_WORKER_INDEX = pathToFileURL(
  path.join(root, flavor === 'dist' ? 'dist/bundle/worker.js' : 'src/worker-api.ts'),
).href;

export const convoy = (await import(index)) as Convoy;

/** The bench's worker module: plain .mjs, so a compiled cluster needs no tsx anywhere. */
export const BENCH_WORKER = new URL('../fixtures/bench-worker.mjs', import.meta.url);
