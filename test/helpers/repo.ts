/**
 * Where the repository's files are. `npm test` runs the tests compiled (tsc, into .test-build/, see
 * tsconfig.test.json): the coordinator, its workers and the fixtures then run as plain JavaScript, and no
 * thread or process a test starts loads tsx (which costs each one a loader thread and ~0.4 s of CPU).
 * Files that are not compiled (the repository's own, and fixtures kept as source) are found from here.
 */
import { existsSync } from 'node:fs';

/** True when this file runs compiled, from .test-build/test/helpers/. */
export const compiled = import.meta.url.endsWith('.js');

/** What `node` needs, before a fixture's path, to run that fixture as a program the way this test runs. */
export const nodeArgs: readonly string[] = compiled ? [] : ['--import', 'tsx'];

/** The repository's root folder. */
export const repoRoot = new URL(compiled ? '../../../' : '../../', import.meta.url);

/** A file of the repository, by its path from the root, as it is in the working tree. */
export function repoFile(path: string): URL {
  return new URL(path, repoRoot);
}

/**
 * A fixture module. When the tests run compiled: its form beside this file (`x.ts` compiled to `x.js`,
 * an `.mjs` copied, so that its imports of convoy reach the compiled sources). Otherwise, and for a
 * fixture the build leaves out (one with a syntax error), the source file as written, which a worker
 * loads through tsx.
 */
export function fixtureFile(file: string): URL {
  if (compiled) {
    const built = new URL(`../fixtures/${file.replace(/\.ts$/, '.js')}`, import.meta.url);
    if (existsSync(built)) return built;
  }
  return repoFile(`test/fixtures/${file}`);
}
