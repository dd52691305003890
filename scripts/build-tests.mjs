// Builds the tests to run as plain JavaScript (see test/helpers/repo.ts): tsc type-checks the project
// and emits it into .test-build/ (tsconfig.test.json), then the JavaScript modules that tsc does not
// emit (.mjs files, some of them typed by a .d.mts) are copied beside the compiled files that import them.
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const out = '.test-build';
// A fresh build: a compiled file whose source was removed must not linger and be run.
rmSync(out, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
try {
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.test.json'], { stdio: 'inherit' });
} catch {
  process.exit(1);
}
for (const folder of ['bench', 'test']) {
  cpSync(folder, `${out}/${folder}`, {
    recursive: true,
    // Every folder, to reach the .mjs files in it; not the fixture with a syntax error, which stays as written.
    filter: (source) => statSync(source).isDirectory() || (source.endsWith('.mjs') && !source.endsWith('bad-syntax.mjs')),
  });
}
// What test/helpers/fresh-build.mjs compares the sources with: a test run never runs an older build.
writeFileSync(`${out}/built-at`, `${new Date().toISOString()}\n`);
