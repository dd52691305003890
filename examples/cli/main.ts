/** `convoy`: runs the examples. Exit codes: 0 ok, 1 the run failed its check, 2 bad usage. */
import { runBank, type BankOptions } from '../bank/run.js';
import { formatReport, reportJson } from '../bank/report.js';
import { runCounter } from '../counter/run.js';
import { runReplication } from '../replication/run.js';
import { USAGE, UsageError, choiceFlag, numberFlag, parseCli, type Cli } from './args.js';
import { createProgress } from './progress.js';

async function bank(cli: Cli): Promise<number> {
  const { values } = cli;
  const seconds = numberFlag(values, 'seconds', 10, { min: 1 });
  const chaosEveryMs = numberFlag(values, 'chaos-ms', values.crash ? Math.max(1500, (seconds * 1000) / 3) : 0);
  const progress = createProgress(seconds * 1000, 'bank');
  const options: BankOptions = {
    seconds,
    shards: numberFlag(values, 'shards', 4, { min: 2 }),
    tellers: numberFlag(values, 'tellers', 2, { min: 1 }),
    accountsPerShard: numberFlag(values, 'accounts', 200, { min: 2 }),
    concurrency: numberFlag(values, 'concurrency', 64, { min: 1 }),
    kind: choiceFlag(values, 'kind', ['thread', 'process', 'mixed'] as const, 'mixed'),
    chaosEveryMs,
    seed: numberFlag(values, 'seed', 1),
    lockPolicy: choiceFlag(values, 'lock-policy', ['wound-wait', 'no-wait'] as const, 'wound-wait'),
    lockWaitTimeoutMs: numberFlag(values, 'lock-wait-ms', 250, { min: 1 }),
    onProgress: (p) => progress.update(p.elapsedMs, { results: p.results, deaths: p.deaths }),
  };
  if (typeof values['data-dir'] === 'string') options.dataDir = values['data-dir'];
  let report: Awaited<ReturnType<typeof runBank>>;
  try {
    report = await runBank(options);
  } finally {
    progress.stop();
  }
  console.log(cli.json ? reportJson(report) : formatReport(report));
  if (values.crash && report.restarts === 0) {
    console.error('convoy: --crash asked for at least one crash and restart, and none happened');
    return 1;
  }
  return report.verdict.ok ? 0 : 1;
}

async function counter(cli: Cli): Promise<number> {
  const report = await runCounter({
    rounds: numberFlag(cli.values, 'rounds', 10_000, { min: 2 }),
    kind: choiceFlag(cli.values, 'kind', ['thread', 'process'] as const, 'process'),
  });
  if (cli.json) console.log(JSON.stringify(report, null, 2));
  else {
    const m = report.firstMismatch;
    const where = m ? ` (call ${m.index}: A sent ${m.sent}, B saw ${m.seen})` : '';
    console.log(
      `counter: ${report.rounds} inc() calls A→B, last=${report.last}, in order: ${report.inOrder}${where}, ${report.callsPerSecond} calls/s`,
    );
  }
  return report.inOrder ? 0 : 1;
}

async function replication(cli: Cli): Promise<number> {
  const results = await runReplication({
    writes: numberFlag(cli.values, 'writes', 2000, { min: 1 }),
    replicas: numberFlag(cli.values, 'replicas', 2, { min: 1 }),
    kind: choiceFlag(cli.values, 'kind', ['thread', 'process'] as const, 'thread'),
  });
  if (cli.json) console.log(JSON.stringify(results, null, 2));
  else {
    console.log('mode      writes  diverged replicas  out-of-order applies');
    for (const r of results)
      console.log(
        `${r.mode.padEnd(9)} ${String(r.writes).padStart(6)}  ${String(r.divergedReplicas).padStart(17)}  ${String(r.outOfOrder).padStart(20)}`,
      );
  }
  const ordered = results.find((r) => r.mode === 'ordered')!;
  // The ordered path must never diverge; the pooled one is expected to.
  return ordered.divergedReplicas === 0 && ordered.outOfOrder === 0 ? 0 : 1;
}

export async function main(argv: string[]): Promise<number> {
  let cli: Cli;
  try {
    cli = parseCli(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`convoy: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  try {
    if (cli.command === 'help') {
      console.log(USAGE);
      return 0;
    }
    if (cli.command === 'bank') return await bank(cli);
    if (cli.command === 'counter') return await counter(cli);
    return await replication(cli);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`convoy: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    throw error;
  }
}
