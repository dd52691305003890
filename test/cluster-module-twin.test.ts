/**
 * A worker module named `x.js` that does not exist, beside an `x.ts` that does, loads `x.ts` (through tsx),
 * as TypeScript's imports and tsx resolve such a name: a coordinator run from its sources can name its
 * workers by what they compile to. A `.js` that exists is always the one loaded.
 *
 * The modules are written into a temporary folder, where nothing compiles them: they import convoy's
 * compiled worker entry by its URL, the same copy of convoy the worker's runtime runs.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import test from 'ava';
import { moduleUrl, typeScriptTwin } from '../src/cluster/paths.js';
import { startFor } from './helpers/cluster.js';

const workerApi = new URL('../src/worker-api.js', import.meta.url).href;
const folder = mkdtempSync(path.join(tmpdir(), 'convoy-twin-'));
test.after.always(() => rmSync(folder, { recursive: true, force: true }));

/** A worker module whose one method says which file answered; `typed` writes TypeScript syntax. */
function writeWorker(file: string, answer: string, typed: boolean): void {
  const kind = typed ? `(): string => '${answer}'` : `() => '${answer}'`;
  writeFileSync(
    path.join(folder, file),
    `import { defineWorker } from '${workerApi}';\nexport default defineWorker(() => ({ which: ${kind} }));\n`,
  );
}
// An ES module project, as a user's is: without it, tsx takes a .ts for CommonJS.
writeFileSync(path.join(folder, 'package.json'), '{ "type": "module" }\n');
writeWorker('only-ts.ts', 'only-ts.ts', true);
writeWorker('only-mts.mts', 'only-mts.mts', true);
writeWorker('both.ts', 'both.ts', true);
writeWorker('both.js', 'both.js', false);
writeFileSync(path.join(folder, 'tasks.ts'), 'export function add(a: number, b: number): number {\n  return a + b;\n}\n');
writeFileSync(path.join(folder, 'only-cts.cts'), 'module.exports = {};\n');
mkdirSync(path.join(folder, 'a-folder.ts'));

const inFolder = (file: string): string => pathToFileURL(path.join(folder, file)).href;

test('typeScriptTwin: a missing .js, .mjs or .cjs is its .ts, .mts or .cts twin when that exists', (t) => {
  t.is(typeScriptTwin(inFolder('only-ts.js')), inFolder('only-ts.ts'));
  t.is(typeScriptTwin(inFolder('only-mts.mjs')), inFolder('only-mts.mts'));
  t.is(typeScriptTwin(inFolder('only-cts.cjs')), inFolder('only-cts.cts'));
  t.is(typeScriptTwin(`${inFolder('only-ts.js')}?v=2#x`), `${inFolder('only-ts.ts')}?v=2#x`, 'query and hash kept');
});

test('typeScriptTwin: a .js that exists, a module with no twin, other extensions and other schemes are left as they are', (t) => {
  t.is(typeScriptTwin(inFolder('both.js')), inFolder('both.js'));
  t.is(typeScriptTwin(inFolder('missing.js')), inFolder('missing.js'));
  t.is(typeScriptTwin(inFolder('only-ts.mjs')), inFolder('only-ts.mjs'), 'a .mjs twins an .mts only');
  t.is(typeScriptTwin(inFolder('only-ts')), inFolder('only-ts'));
  t.is(typeScriptTwin(inFolder('a-folder.js')), inFolder('a-folder.js'), 'a folder named x.ts is no module');
  t.is(typeScriptTwin('data:text/javascript,export default 1'), 'data:text/javascript,export default 1');
});

test('an agent resolves a path against its working directory to the twin, as the coordinator does', (t) => {
  t.is(moduleUrl('only-ts.js', folder), inFolder('only-ts.ts'));
  t.is(moduleUrl(inFolder('only-ts.js'), '/'), inFolder('only-ts.ts'));
  t.is(moduleUrl('both.js', folder), inFolder('both.js'));
  t.is(moduleUrl(inFolder('only-ts.js').replace(/^file:/, 'FILE:'), '/'), inFolder('only-ts.ts'), 'a scheme in capitals is a URL too');
});

test('a thread and a process named x.js load x.ts when only it exists; an existing x.js is loaded as named', async (t) => {
  const relative = path.relative(process.cwd(), path.join(folder, 'only-ts.js'));
  const cluster = await startFor(t, {
    workers: [
      { name: 'url', module: new URL(inFolder('only-ts.js')) },
      { name: 'path', module: relative, kind: 'process' },
      { name: 'mjs', module: inFolder('only-mts.mjs') },
      { name: 'both', module: inFolder('both.js'), kind: 'process' },
    ],
  });
  const which = (name: string) => cluster.worker<{ which(): string }>(name).which();
  t.deepEqual(await Promise.all(['url', 'path', 'mjs', 'both'].map(which)), ['only-ts.ts', 'only-ts.ts', 'only-mts.mts', 'both.js']);
});

test('a pool named tasks.js loads tasks.ts when only it exists', async (t) => {
  const cluster = await startFor(t, { pool: { module: inFolder('tasks.js'), maxThreads: 1 } });
  t.is(await cluster.pool<{ add(a: number, b: number): number }>().add(2, 3), 5);
});
