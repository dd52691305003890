// The bank on the real runtime: threads, processes and both mixed, chaos kills, restarts, recovery from
// the logs, and the checker's verdict — which must also be able to fail. Each run takes a few seconds
// (processes start and restart), so they run one at a time; runBank closes the
// cluster and removes its data itself.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { formatReport } from '../examples/bank/report.js';
import { runBank } from '../examples/bank/run.js';
import { SLOW_RESTART_MS } from './fixtures/bank-shard-slow-restart.js';
import { fixture } from './helpers/repo.js';

const clusters = { thread: 'threads', process: 'processes', mixed: 'threads and processes' } as const;

// The default lock policy (wound-wait) on every kind of cluster. no-wait under chaos runs in
// bank-2pc.test.ts, without the runtime: a cluster run costs far more CPU beside other files' timing tests.
for (const kind of ['thread', 'process', 'mixed'] as const) {
  test.serial(`${clusters[kind]}: transfers under random kills of shards and tellers end with a clean checker verdict`, async (t) => {
    const report = await runBank({ kind, seconds: 2, shards: 3, tellers: 2, accountsPerShard: 20, chaosEveryMs: 400, seed: 3 });
    t.deepEqual(report.verdict.violations, []);
    t.true(report.verdict.ok);
    t.true(report.settle.ok, 'the run settled before the check');
    t.true(report.committed > 0, 'some transfers committed');
    t.true(report.deaths.length > 0 && report.deaths.every((d) => d.chaos), 'only the kills we made');
    t.is(report.restarts, report.deaths.length, 'every killed worker came back');
    t.is(report.verdict.totals.inDoubt, 0);
    t.is(report.locks.policy, 'wound-wait', 'the default');
    t.true(report.locks.waited > 0, 'prepares waited for locks');
    t.log(`committed=${report.committed} aborted=${report.aborted.total} waited=${report.locks.waited} deaths=${report.deaths.length}`);
  });
}

test.serial('a shard that loses commits fails the checker, which names each lost transfer', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'bank-faulty-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const report = await runBank({
    seconds: 1,
    shards: 2,
    tellers: 1,
    accountsPerShard: 50,
    dataDir,
    shardModule: fixture('bank-shard-losing-commits.ts'),
  });
  const lost = ['shard-0', 'shard-1'].flatMap((name) => {
    const path = join(dataDir, `${name}.lost`);
    return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
  });
  t.true(lost.length > 0, 'the faulty shard lost some commits');
  t.false(report.verdict.ok);
  const halfApplied = report.verdict.violations.filter((v) => v.what.startsWith('half-applied: committed, but not applied on shard-'));
  t.deepEqual(halfApplied.map((v) => v.txId).sort(), lost.sort());
  t.true(report.verdict.violations.some((v) => v.txId === null && /^balance .* but opening \+ committed transfers give/.test(v.what)));
});

// A restart as on a loaded machine (bank-shard-slow-restart.ts): it takes seconds, so the tellers' prepares to
// the dead shard time out into aborts, and both wait in the channels to it; the transfers are over by the
// time it is back. It then gets them as one flood, which takes several time slices. The books must be read
// only once it has handled all of it: read before, a prepare is in its log without the abort that follows.
test.serial('a shard whose restart takes seconds handles what waited for it before the books are checked', async (t) => {
  const report = await runBank({
    seconds: 1,
    shards: 2,
    tellers: 2,
    concurrency: 64,
    crashAtMs: 0,
    chaosTargets: 'shards',
    shardModule: fixture('bank-shard-slow-restart.ts'),
  });
  t.deepEqual(report.verdict.violations, []);
  t.true(report.verdict.ok);
  t.is(report.restarts, 1);
  t.true(report.recoveries[0]!.restartMs >= SLOW_RESTART_MS, `the restart took ${report.recoveries[0]!.restartMs} ms`);
  const timedOut = report.aborted.byCause.timeout ?? 0;
  t.true(timedOut > 0, 'prepares to the dead shard timed out');
  t.log(`timed out=${timedOut} committed=${report.committed} restart=${Math.round(report.recoveries[0]!.restartMs)} ms`);
});

// The check reads the logs once the run has settled; a run that cannot settle by its deadline reports
// what was left instead of passing on books that were still moving (the CLI then exits 1).
test.serial('a run that does not settle by its deadline says so, and what was left', async (t) => {
  // Long enough for the real shards to settle first: what is left is then only what the fixture adds.
  const settleTimeoutMs = 1500;
  const report = await runBank({
    seconds: 0.5,
    shards: 2,
    tellers: 1,
    settleTimeoutMs,
    shardModule: fixture('bank-shard-never-settles.ts'),
  });
  const left = 'shard-0: 1 in doubt; shard-1: 2 waiting for a lock';
  t.like(report.settle, { ok: false, timeoutMs: settleTimeoutMs, left });
  t.true(report.settle.ms >= settleTimeoutMs, `gave up after ${report.settle.ms} ms`);
  t.regex(formatReport(report), /^settled\s+NO: not within 1500 ms \(shard-0: 1 in doubt; shard-1: 2 waiting for a lock\)$/m);
});
