// The checker must catch each way a bank can go wrong, naming the transaction; and the report must
// present the run faithfully. Logs here are written by hand: a clean run, then one corruption each.
import test from 'ava';
import { check, type CheckInput } from '../examples/bank/checker.js';
import type { ShardRecord, TellerRecord } from '../examples/bank/config.js';
import { buildReport, formatReport, percentile, reportJson } from '../examples/bank/report.js';

const A = 'teller-0/1/1'; // committed: s0a0 -30 → s1a0 +30
const B = 'teller-0/1/2'; // aborted: shard-1 refused
const C = 'teller-0/1/3'; // committed: s1a1 -10 → s0a1 +10

function cleanRun(): CheckInput {
  const shard0: ShardRecord[] = [
    { t: 'init', balances: { s0a0: 100, s0a1: 100 } },
    { t: 'prepare', txId: A, teller: 'teller-0', account: 's0a0', delta: -30 },
    { t: 'prepare', txId: B, teller: 'teller-0', account: 's0a1', delta: -20 },
    { t: 'commit', txId: A },
    { t: 'abort', txId: B },
    { t: 'prepare', txId: C, teller: 'teller-0', account: 's0a1', delta: 10 },
    { t: 'commit', txId: C },
  ];
  const shard1: ShardRecord[] = [
    { t: 'init', balances: { s1a0: 100, s1a1: 100 } },
    { t: 'prepare', txId: A, teller: 'teller-0', account: 's1a0', delta: 30 },
    { t: 'commit', txId: A },
    { t: 'prepare', txId: C, teller: 'teller-0', account: 's1a1', delta: -10 },
    { t: 'commit', txId: C },
  ];
  const teller: TellerRecord[] = [
    { t: 'boot', incarnation: 1 },
    {
      t: 'commit',
      txId: A,
      parts: [
        { shard: 'shard-0', account: 's0a0', delta: -30 },
        { shard: 'shard-1', account: 's1a0', delta: 30 },
      ],
    },
    { t: 'abort', txId: B, cause: 'locked' },
    {
      t: 'commit',
      txId: C,
      parts: [
        { shard: 'shard-1', account: 's1a1', delta: -10 },
        { shard: 'shard-0', account: 's0a1', delta: 10 },
      ],
    },
    { t: 'ack', txId: A },
  ];
  return {
    opening: { s0a0: 100, s0a1: 100, s1a0: 100, s1a1: 100 },
    shards: [
      { name: 'shard-0', balances: { s0a0: 70, s0a1: 110 }, locks: {}, log: shard0 },
      { name: 'shard-1', balances: { s1a0: 130, s1a1: 90 }, locks: {}, log: shard1 },
    ],
    tellers: [{ name: 'teller-0', log: teller }],
  };
}

const whatFor = (input: CheckInput, txId: string | null) =>
  check(input)
    .violations.filter((v) => v.txId === txId)
    .map((v) => v.what);

test('a clean run passes, with totals', (t) => {
  const verdict = check(cleanRun());
  t.deepEqual(verdict, {
    ok: true,
    violations: [],
    totals: { accounts: 4, openingTotal: 400, finalTotal: 400, committed: 2, aborted: 1, inDoubt: 0 },
    abortsByCause: { locked: 1 },
  });
});

test('money created by a committed transfer whose sides do not balance', (t) => {
  const run = cleanRun();
  const commitA = run.tellers[0]!.log[1] as Extract<TellerRecord, { t: 'commit' }>;
  commitA.parts[1]!.delta = 80; // credit 80 for a debit of 30
  (run.shards[1]!.log[1] as Extract<ShardRecord, { t: 'prepare' }>).delta = 80;
  run.shards[1]!.balances.s1a0 = 180;
  const verdict = check(run);
  t.false(verdict.ok);
  t.true(whatFor(run, A).some((w) => /money created/.test(w)));
  t.is(verdict.totals.finalTotal, 450);
  t.true(whatFor(run, null).some((w) => /total balance changed from 400 to 450/.test(w)));
});

test('money created without any transaction is pinned on the account', (t) => {
  const run = cleanRun();
  run.shards[0]!.balances.s0a1 = 1110;
  const verdict = check(run);
  t.false(verdict.ok);
  t.true(verdict.violations.some((v) => v.txId === null && v.account === 's0a1' && /give 110/.test(v.what)));
});

test('a negative balance names the transfer that caused it', (t) => {
  const run = cleanRun();
  // A shard that skipped the funds check: A debits 130 from an account holding 100.
  (run.tellers[0]!.log[1] as Extract<TellerRecord, { t: 'commit' }>).parts = [
    { shard: 'shard-0', account: 's0a0', delta: -130 },
    { shard: 'shard-1', account: 's1a0', delta: 130 },
  ];
  (run.shards[0]!.log[1] as Extract<ShardRecord, { t: 'prepare' }>).delta = -130;
  (run.shards[1]!.log[1] as Extract<ShardRecord, { t: 'prepare' }>).delta = 130;
  run.shards[0]!.balances.s0a0 = -30;
  run.shards[1]!.balances.s1a0 = 230;
  const verdict = check(run);
  t.false(verdict.ok);
  t.deepEqual(whatFor(run, A), ['drove s0a0 negative (-30)']);
  t.true(verdict.violations.some((v) => v.account === 's0a0' && /negative final balance -30/.test(v.what)));
});

test('a half-applied transfer: committed, applied on one side only', (t) => {
  const run = cleanRun();
  run.shards[1]!.log = run.shards[1]!.log.filter((r) => !(r.t === 'commit' && r.txId === C));
  run.shards[1]!.log.push({ t: 'abort', txId: C });
  run.shards[1]!.balances.s1a1 = 100;
  t.true(whatFor(run, C).some((w) => /half-applied: committed, but not applied on shard-1/.test(w)));
  t.false(check(run).ok);
});

test('a committed transfer applied on neither side is lost, not half-applied', (t) => {
  const run = cleanRun();
  for (const shard of run.shards) shard.log = shard.log.map((r) => (r.t === 'commit' && r.txId === C ? { t: 'abort', txId: C } : r));
  run.shards[0]!.balances.s0a1 = 100;
  run.shards[1]!.balances.s1a1 = 100;
  t.deepEqual(whatFor(run, C), ['lost: committed, but not applied on shard-1', 'lost: committed, but not applied on shard-0']);
  t.false(check(run).ok);
});

test('a transfer applied twice on one side: the balance the shard reports gives it away', (t) => {
  const run = cleanRun();
  run.shards[0]!.balances.s0a0 = 40;
  t.deepEqual(whatFor(run, null), [
    'balance 40 on shard-0, but opening + committed transfers give 70',
    'balance 40 on shard-0, but its log rebuilds 70',
    'total balance changed from 400 to 370',
  ]);
  t.false(check(run).ok);
});

// Found by a mutation of the shard (a wrong init record, memory right): it passed unless the shard restarted.
test('a log that would rebuild other balances than the shard holds: a wrong init record is caught without a restart', (t) => {
  const run = cleanRun();
  run.shards[1]!.log[0] = { t: 'init', balances: { s1a0: 600, s1a1: 100 } };
  const verdict = check(run);
  t.false(verdict.ok);
  t.deepEqual(whatFor(run, null), [
    "shard-1's log opens s1a0 at 600, not at its opening balance 100",
    'balance 130 on shard-1, but its log rebuilds 630',
  ]);
});

test('aborts with no teller record are teller-died; one prepared and undecided is in doubt, not aborted', (t) => {
  const run = cleanRun();
  const D = 'teller-0/1/4';
  const E = 'teller-0/1/5';
  // D: prepared and aborted on shard-0, no teller record (its teller died before deciding, presumed abort).
  run.shards[0]!.log.push({ t: 'prepare', txId: D, teller: 'teller-0', account: 's0a0', delta: -5 }, { t: 'abort', txId: D });
  // E: prepared on shard-1, never decided (a leaked lock).
  run.shards[1]!.log.push({ t: 'prepare', txId: E, teller: 'teller-0', account: 's1a1', delta: -5 });
  run.shards[1]!.locks = { s1a1: E };
  const verdict = check(run);
  t.deepEqual(verdict.abortsByCause, { locked: 1, 'teller-died': 1 });
  t.is(verdict.totals.aborted, 2);
  t.is(verdict.totals.inDoubt, 1);
  t.false(verdict.ok);
});

test("the duration is the transfers' window; a last batch held up past it is shown beside it", (t) => {
  const report = buildReport({
    durationMs: 9999.999999999998,
    lastBatchMs: 14_900.000000000002,
    results: [],
    deaths: [],
    restarts: 0,
    recoveries: [],
    verdict: check(cleanRun()),
    locks: { policy: 'wound-wait', waitTimeoutMs: 250 },
    settle: { ok: true, ms: 3 },
  });
  t.is(report.transfersPerSec, 0.2, 'two committed in the 10 s the transfers ran');
  t.regex(formatReport(report), /duration\s+10000 ms \(the last batch returned at 14900 ms\)/);
  // In whole ms: a difference of clock readings has float noise, which the JSON showed as it was.
  t.like(JSON.parse(reportJson(report)), { durationMs: 10_000, lastBatchMs: 14_900 });
});

test("a commit logged twice (a killed incarnation's late write, then its successor's) counts once, as the shard's replay applies it", (t) => {
  const run = cleanRun();
  run.shards[0]!.log.push({ t: 'commit', txId: A });
  const verdict = check(run);
  t.deepEqual(verdict.violations, []);
  t.is(verdict.totals.committed, 2);
});

test('a commit record its replay ignores (never prepared) is reported', (t) => {
  const run = cleanRun();
  run.shards[1]!.log.push({ t: 'commit', txId: 'teller-0/1/9' });
  t.true(whatFor(run, 'teller-0/1/9').includes('a commit record on shard-1 its replay ignores (not prepared, or aborted)'));
});

test('an aborted transfer applied on one side, and a lock left in doubt', (t) => {
  const run = cleanRun();
  run.shards[0]!.log = run.shards[0]!.log.map((r) => (r.t === 'abort' && r.txId === B ? { t: 'commit', txId: B } : r));
  run.shards[0]!.balances.s0a1 = 90;
  run.shards[1]!.log.push({ t: 'prepare', txId: 'teller-0/1/4', teller: 'teller-0', account: 's1a0', delta: -5 });
  run.shards[1]!.locks = { s1a0: 'teller-0/1/4' };
  const verdict = check(run);
  t.true(whatFor(run, B).includes('applied on shard-0, but its teller never committed it'));
  t.true(whatFor(run, 'teller-0/1/4').some((w) => /in doubt at the end on shard-1/.test(w)));
  t.is(verdict.totals.inDoubt, 1);
  t.is(whatFor(run, 'teller-0/1/4').length, 1, 'the leaked lock is reported once, not twice');
});

test('percentile is nearest-rank', (t) => {
  const xs = Array.from({ length: 100 }, (_, i) => i + 1);
  t.is(percentile(xs, 50), 50);
  t.is(percentile(xs, 99), 99);
  t.is(percentile([7], 99), 7);
  t.is(percentile([], 50), 0);
});

test('the report counts commits and abort causes from the logs, and lock waits among the results that came back', (t) => {
  const verdict = check(cleanRun());
  const report = buildReport({
    durationMs: 2000,
    results: [
      { txId: A, outcome: 'committed', latencyMs: 2, lockWaitMs: 6 },
      { txId: 'x', outcome: 'aborted', cause: 'funds', latencyMs: 4 },
    ],
    deaths: [
      { name: 'teller-0', reason: 'killed', atMs: 500, chaos: true },
      { name: 'shard-1', reason: 'crash', atMs: 1500, chaos: false, error: 'WalClosedError: WAL shard-1.wal crashed' },
    ],
    restarts: 1,
    recoveries: [{ name: 'teller-0', restartMs: 80, recoveredMs: 120 }],
    verdict,
    locks: { policy: 'wound-wait', waitTimeoutMs: 250 },
    settle: { ok: true, ms: 41.6 },
  });
  t.is(report.committed, 2);
  t.is(report.transfersPerSec, 1);
  // From the teller's log (B: locked), not from the results, which a teller's death can cut short.
  t.deepEqual(report.aborted.byCause, { locked: 1 });
  t.deepEqual(report.latencyMs, { p50: 2, p99: 4, max: 4, samples: 2 });
  t.deepEqual(report.recoveryMs, { p50: 120, max: 120 });
  t.is(report.transfers, 3, 'two committed (from the logs) and one aborted');
  t.deepEqual(report.locks, { policy: 'wound-wait', waitTimeoutMs: 250, waited: 1, waitMs: { p50: 6, p99: 6, max: 6 } });
  const text = formatReport(report);
  t.regex(text, /lock policy\s+wound-wait \(waits up to 250 ms\)/);
  t.regex(text, /committed\s+2 \(66\.7%\)/);
  t.regex(text, /\n {2}locked\s+1 \(33\.3%\)/);
  t.regex(text, /waited for a lock\s+1 of 2 reported \(50\.0%\), p50 6\.00 ms/);
  t.regex(text, /duration\s+2000 ms\n/, 'no last batch shown when it came back with the run');
  t.regex(text, /deaths\s+2 \(1 by chaos\)\n {2}shard-1 at 1\.5 s\s+crash: WalClosedError: WAL shard-1\.wal crashed\n/);
  t.notRegex(text, /teller-0 at/, 'a kill of the run is counted, not listed');
  t.regex(text, /settled\s+in 42 ms\n/);
  t.regex(text, /checker\s+OK/);
  t.deepEqual(JSON.parse(reportJson(report)), JSON.parse(JSON.stringify(report)));

  const bad = check({ ...cleanRun(), opening: { ...cleanRun().opening, s0a0: 90 } });
  const badText = formatReport(
    buildReport({
      durationMs: 1,
      results: [],
      deaths: [],
      restarts: 0,
      recoveries: [],
      verdict: bad,
      locks: { policy: 'no-wait', waitTimeoutMs: 250 },
      settle: { ok: false, ms: 20_013.7, timeoutMs: 20_000, left: 'shard-1: 2 in doubt' },
    }),
  );
  t.regex(badText, /settled\s+NO: not within 20000 ms \(shard-1: 2 in doubt\)\n/);
  t.regex(badText, /checker\s+FAILED/);
  t.regex(badText, /! \(no tx\) \[s0a0\]/);
});
