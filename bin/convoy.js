#!/usr/bin/env node
// The `convoy` command. Runs the compiled CLI from dist/ when it is built (npm install builds it), and
// otherwise the TypeScript sources through tsx.
import { existsSync, readFileSync } from 'node:fs';

const [command] = process.argv.slice(2);
if (command === '--version' || command === '-v') {
  console.log(JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version);
  process.exit(0);
}
// `convoy agent` is part of the library (src/agent/cli.ts), compiled into the bundle: the workers it
// starts load the bundle, as their modules' `import 'convoy'` does. Every other command is an example's.
const [compiledEntry, sourceEntry] =
  command === 'agent' ? ['dist/bundle/agent-cli.js', 'src/agent/cli.ts'] : ['dist/examples/cli/main.js', 'examples/cli/main.ts'];
const compiled = new URL(`../${compiledEntry}`, import.meta.url);
let cli;
if (existsSync(compiled)) {
  cli = await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(new URL(`../${sourceEntry}`, import.meta.url).href);
}
if (command === 'agent') {
  process.exitCode = await cli.main(process.argv.slice(3));
} else {
  // An error nothing awaited (a stray rejection, a throw in a callback) is still an unexpected failure:
  // one line and exit code 3, like one that reaches main().
  const verbose = process.argv.includes('--verbose');
  const fail = (error) => {
    console.error(`convoy: failed: ${cli.describeFailure(error, verbose)}`);
    process.exit(cli.EXIT.failed);
  };
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
  process.exitCode = await cli.main(process.argv.slice(2));
}
