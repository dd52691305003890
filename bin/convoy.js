#!/usr/bin/env node
// The `convoy` command. Runs the compiled CLI from dist/ when it is built (npm install builds it), and
// otherwise the TypeScript sources through tsx.
import { existsSync } from 'node:fs';

const [command] = process.argv.slice(2);
// `convoy agent` is part of the library (src/agent/cli.ts); every other command is an example's.
const entry = command === 'agent' ? 'src/agent/cli' : 'examples/cli/main';
const compiled = new URL(`../dist/${entry}.js`, import.meta.url);
let cli;
if (existsSync(compiled)) {
  cli = await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(new URL(`../${entry}.ts`, import.meta.url).href);
}
process.exitCode = await cli.main(process.argv.slice(command === 'agent' ? 3 : 2));
