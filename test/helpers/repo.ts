/**
 * Where the repository's files are, seen from the compiled tests. ava runs the tests compiled (tsc, into
 * .test-build/, see tsconfig.test.json and scripts/build-tests.mjs): the coordinator, its workers and the
 * fixtures then run as plain JavaScript, and no thread or process a test starts loads tsx (which costs
 * each one a loader thread and ~0.4 s of CPU). Files that are not compiled (the repository's own, and
 * fixtures kept as written) are found from here.
 */
import { existsSync } from 'node:fs';

/** The repository's root folder (this file is .test-build/test/helpers/repo.js). */
export const repoRoot = new URL('../../../', import.meta.url);

/** A file of the repository, by its path from the root, as it is in the working tree. */
export function repoFile(path: string): URL {
  return new URL(path, repoRoot);
}

/**
 * A fixture module's file URL: its compiled form beside this file (`x.ts` compiled to `x.js`, an `.mjs`
 * copied, so that its imports of convoy reach the compiled sources), or, for a fixture the build leaves
 * out (one with a syntax error), the source file as written, which a worker loads through tsx.
 */
export function fixture(file: string): URL {
  const built = new URL(`../fixtures/${file.replace(/\.ts$/, '.js')}`, import.meta.url);
  return existsSync(built) ? built : repoFile(`test/fixtures/${file}`);
}
