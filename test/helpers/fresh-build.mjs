// Loaded by ava before each test file (package.json, ava.require). ava runs the tests compiled, from
// .test-build/ (scripts/build-tests.mjs, which `npm test` runs first): a source edited since, then run
// with `npx ava`, would silently test the old build. This refuses to, and says what to run.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const SOURCES = ['src', 'test', 'examples', 'bench', 'scripts'];

/** The newest modification time of a TypeScript or .mjs file under `folder`. */
function newest(folder) {
  let latest = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const file = path.join(folder, entry.name);
    if (entry.isDirectory()) latest = Math.max(latest, newest(file));
    else if (/\.(ts|mjs)$/.test(entry.name)) latest = Math.max(latest, statSync(file).mtimeMs);
  }
  return latest;
}

let builtAt = 0;
try {
  builtAt = statSync(path.join(root, '.test-build/built-at')).mtimeMs;
} catch {}
const edited = Math.max(...SOURCES.map((folder) => newest(path.join(root, folder))));
if (edited > builtAt) {
  throw new Error(
    builtAt === 0
      ? 'The tests are not built: run `npm run build:test` (`npm test` does it), then ava'
      : 'A source changed after the tests were built: run `npm run build:test` (`npm test` does it), then ava',
  );
}
