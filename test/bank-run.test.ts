// The bank on the real runtime: threads, chaos kills, restarts, recovery from the logs, and the
// checker's verdict. Slow-ish (a few seconds); runBank closes the cluster and removes its data itself.
import test from 'ava';
import { runBank } from '../examples/bank/run.js';

test('transfers under random kills of shards and tellers end with a clean checker verdict', async (t) => {
  t.timeout(90_000);
  const report = await runBank({ seconds: 2, shards: 3, tellers: 2, accountsPerShard: 20, chaosEveryMs: 400, seed: 3 });
  t.deepEqual(report.verdict.violations, []);
  t.true(report.verdict.ok);
  t.true(report.committed > 0, 'some transfers committed');
  t.true(report.deaths.length > 0 && report.deaths.every((d) => d.chaos), 'only the kills we made');
  t.is(report.restarts, report.deaths.length, 'every killed worker came back');
  t.is(report.verdict.totals.inDoubt, 0);
  t.log(`committed=${report.committed} aborted=${report.aborted.total} deaths=${report.deaths.length}`);
});
