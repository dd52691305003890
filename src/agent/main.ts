/**
 * `convoy agent` as a program of its own (`node dist/src/agent/main.js --nats URL …`, or this file
 * through tsx): for whoever starts agents of one particular build — the compiled one, or these sources —
 * so that the workers they start load the same copy of convoy as the modules those workers run: the
 * repository's tests and bench. The package publishes no dist/src/*.js: users run `convoy agent`
 * (bin/convoy.js), the same program from the bundle.
 */
import { main } from './cli.js';

process.exitCode = await main(process.argv.slice(2));
