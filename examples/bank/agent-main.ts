// One local agent of the bank across hosts (`convoy bank --agents N`): `convoy agent` itself, run from
// the same build as the bank — compiled, or the TypeScript sources through tsx — so the workers it starts
// load the same copy of convoy as the bank's modules do.
import { main } from '../../src/agent/cli.js';

process.exitCode = await main(process.argv.slice(2));
