// `npm run build`, last: the declarations a user's compiler reads from `convoy`, `convoy/worker` and
// `convoy/internals` (dist/src/*.d.ts, followed through their imports) may import Node's modules and
// each other, and no package. A package's own declarations would be compiled with the user's settings:
// the `nats` client's name DOM types (TextEncoder), so a Node project with `lib: ["ES2022"]` and
// `skipLibCheck: false` failed to compile by importing convoy. Fails the build naming the import chain.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../dist/src/', import.meta.url));
const entries = ['index.d.ts', 'worker-api.d.ts', 'internals.d.ts'];
/** `from '…'`, `import('…')` and `/// <reference types="…" />`, in either quotes (tsc writes its own imports in double ones). */
const IMPORT = /(?:from|import)\s*\(?\s*['"]([^'"]+)['"]|<reference\s+types\s*=\s*['"]([^'"]+)['"]/g;

/** The first file of `from`'s chain, and the chain that led to it. */
const via = new Map(entries.map((entry) => [path.join(root, entry), [entry]]));
const queue = [...via.keys()];
const problems = [];
while (queue.length > 0) {
  const file = queue.shift();
  const chain = via.get(file);
  if (!existsSync(file)) {
    problems.push(`${chain.join(' -> ')}: no such declaration file`);
    continue;
  }
  // Comments may name imports in examples (`typeof import('./counter.js')`): they are not read.
  const code = readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/(?!\/\s*<reference).*$/gm, '');
  for (const [, imported, referenced] of code.matchAll(IMPORT)) {
    const specifier = imported ?? `types:${referenced}`;
    if (specifier.startsWith('node:')) continue;
    if (!specifier.startsWith('.')) {
      problems.push(`${chain.join(' -> ')} imports the package '${specifier}'`);
      continue;
    }
    const next = path.resolve(path.dirname(file), specifier.replace(/\.js$/, '.d.ts'));
    if (via.has(next)) continue;
    via.set(next, [...chain, path.relative(root, next)]);
    queue.push(next);
  }
}
if (problems.length > 0) {
  console.error(`check-declarations: the public declarations must not load a package's own:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
