/**
 * `convoy agent` from the TypeScript sources (`node --import tsx test/helpers/agent-main.ts …`), as the
 * tests' coordinator runs. bin/convoy.js would run the compiled dist/, and a fixture that imports
 * convoy's sources would then meet a second copy of convoy in the runtime that loads it.
 */
import { main } from '../../src/agent/cli.js';

process.exitCode = await main(process.argv.slice(2));
