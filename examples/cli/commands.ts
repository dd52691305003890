/** What each `convoy` command runs: flags turned into options (validated before anything starts), then the run. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { formatReport, reportJson } from '../bank/report.js';
import { runBank, type BankOptions } from '../bank/run.js';
import { type CounterOptions, runCounter } from '../counter/run.js';
import { KEYS, type ModeResult, type ReplicationOptions, runReplication } from '../replication/run.js';
import { choiceFlag, numberFlag, UsageError, type Values } from './args.js';
import { createProgress } from './progress.js';

/**
 * Exit status of a run that completed: 0 it passed its check, 1 it did not, 130 it was interrupted
 * (Ctrl-C) and reported what it did before it stopped (the shell's code for a SIGINT).
 */
export type Verdict = 0 | 1 | 130;

/** The longest timer Node sets. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Transfers in flight per teller: far past what a teller can keep busy. */
const MAX_CONCURRENCY = 100_000;
/**
 * The counter's calls: half of them one at a time (~20-40 µs each here), so a million take ~10-20 s.
 * Unbounded, a huge --rounds ran for ever.
 */
const MAX_ROUNDS = 1_000_000;
/** Writes per replication mode: the pooled mode applies ~1-2k a second here, so this many take about a minute. */
const MAX_WRITES = 100_000;
/** Replica workers: a thread or process each, on a machine of a few cores. */
const MAX_REPLICAS = 32;

/** The bank's options from its flags; every flag is checked here, so a bad one fails before any worker starts. */
export function bankOptions(values: Values): BankOptions {
  // Durations become timers, which Node cannot set past MAX_TIMER_MS (it sets 1 ms instead, and warns).
  const seconds = numberFlag(values, 'seconds', 10, { min: 1, max: Math.floor(MAX_TIMER_MS / 1000) });
  const options: BankOptions = {
    seconds,
    shards: numberFlag(values, 'shards', 4, { min: 2 }),
    tellers: numberFlag(values, 'tellers', 2, { min: 1 }),
    accountsPerShard: numberFlag(values, 'accounts', 200, { min: 2 }),
    // Each is a lane of transfers in a teller: a billion of them took the tellers' event loops for ever.
    concurrency: numberFlag(values, 'concurrency', 64, { min: 1, max: MAX_CONCURRENCY }),
    kind: choiceFlag(values, 'kind', ['thread', 'process', 'mixed'] as const, 'mixed'),
    // Its waits are up to 1.5 times it.
    chaosEveryMs: numberFlag(values, 'chaos-ms', 0, { max: Math.floor(MAX_TIMER_MS / 1.5) }),
    lockPolicy: choiceFlag(values, 'lock-policy', ['wound-wait', 'no-wait'] as const, 'wound-wait'),
    lockWaitTimeoutMs: numberFlag(values, 'lock-wait-ms', 250, { min: 1, max: MAX_TIMER_MS }),
    seed: numberFlag(values, 'seed', 1),
  };
  // A third of the way in: the run goes on long enough after it to see the restart and recovery.
  if (values.crash) options.crashAtMs = (seconds * 1000) / 3;
  const agents = numberFlag(values, 'agents', 0);
  if (agents > 0) options.agents = agents;
  if (typeof values.nats === 'string') {
    if (agents === 0) throw new UsageError('--nats names the NATS server of the agents: it needs --agents N', 'bank');
    options.natsUrl = values.nats;
  }
  if (values.dashboard) {
    const port = values.port === undefined ? undefined : numberFlag(values, 'port', 0, { max: 65_535 });
    options.dashboard = { ...(port === undefined ? {} : { port }), hold: values.hold === true };
  } else if (values.port !== undefined || values.hold) {
    throw new UsageError(`--${values.port !== undefined ? 'port' : 'hold'} goes with --dashboard`, 'bank');
  }
  const dataDir = values['data-dir'];
  if (typeof dataDir === 'string') {
    options.dataDir = resolve(dataDir);
    if (existsSync(dataDir) && (!statSync(dataDir).isDirectory() || readdirSync(dataDir).length > 0)) {
      throw new UsageError(`Expected --data-dir to be a new or empty directory (the bank starts from fresh logs), ${dataDir} is not`);
    }
  }
  return options;
}

export async function bank(values: Values, json: boolean): Promise<Verdict> {
  const options = bankOptions(values);
  const progress = createProgress(options.seconds! * 1000, 'bank');
  options.onProgress = (p) => progress.update(p.elapsedMs, { results: p.results, deaths: p.deaths });
  let dashboardUrl: string | undefined;
  options.onStart = (cluster) => {
    dashboardUrl = cluster.dashboardUrl;
    if (dashboardUrl) console.error(`convoy: dashboard at ${dashboardUrl}`);
  };
  // The first Ctrl-C (or SIGTERM, a supervisor's stop) ends the transfers early: the run still settles,
  // checks the books and removes its temporary logs. A second one quits at once, what the run started
  // (agents, a NATS server, temporary logs) removed on the way out by their exit hooks.
  const interrupt = new AbortController();
  options.signal = interrupt.signal;
  const quit = (): void => {
    progress.stop();
    process.exit(130);
  };
  const onInterrupt = (): void => {
    if (interrupt.signal.aborted) {
      quit();
      return;
    }
    progress.stop();
    console.error('convoy: interrupted: stopping the transfers, then settling and checking the books (Ctrl-C again quits at once)');
    interrupt.abort();
  };
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onInterrupt);
  // A closed terminal: no one to report to, but what the run started goes (the exit hooks), where
  // Node's default for SIGHUP would end the process without them.
  process.on('SIGHUP', quit);
  let report: Awaited<ReturnType<typeof runBank>>;
  try {
    report = await runBank(options);
  } finally {
    progress.stop();
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
    process.off('SIGHUP', quit);
  }
  console.log(json ? reportJson(report) : formatReport(report));
  if (options.dataDir) console.error(`convoy: the logs are kept in ${options.dataDir}`);
  const code = bankExitCode(report, interrupt.signal.aborted, options.crashAtMs !== undefined);
  if (dashboardUrl && values.hold) {
    console.error(`convoy: the dashboard still shows the run at ${dashboardUrl}; Ctrl-C to exit`);
    await new Promise((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    // A held dashboard has no close() and keeps the event loop alive: with the run over, the process ends here.
    process.exit(code);
  }
  return code;
}

export function bankExitCode(report: Awaited<ReturnType<typeof runBank>>, interrupted: boolean, askedForCrash: boolean): Verdict {
  // The checker read logs that were still growing: whatever it found, it proved nothing.
  if (!report.settle.ok) {
    console.error(`convoy: the run did not settle within ${report.settle.timeoutMs} ms, so the check proves nothing`);
    return 1;
  }
  if (interrupted) return report.verdict.ok ? 130 : 1;
  if (askedForCrash && report.restarts === 0) {
    console.error('convoy: --crash asked for a crash and a restart, and none happened');
    return 1;
  }
  // Books that balance because nothing moved prove nothing: a run that committed no transfer failed.
  if (report.verdict.ok && report.verdict.totals.committed === 0) {
    console.error('convoy: the run committed no transfer, so the check proves nothing');
    return 1;
  }
  return report.verdict.ok ? 0 : 1;
}

/** The counter's options from its flags, checked before any worker starts. */
export function counterOptions(values: Values): CounterOptions {
  return {
    rounds: numberFlag(values, 'rounds', 10_000, { min: 2, max: MAX_ROUNDS }),
    kind: choiceFlag(values, 'kind', ['thread', 'process'] as const, 'process'),
  };
}

export async function counter(values: Values, json: boolean): Promise<Verdict> {
  const report = await runCounter(counterOptions(values));
  if (json) console.log(JSON.stringify(report, null, 2));
  else console.log(counterLine(report));
  return report.inOrder ? 0 : 1;
}

/** The counter's report in one line, with where its check failed, if it did. */
function counterLine(report: Awaited<ReturnType<typeof runCounter>>): string {
  const r = report.firstWrongReply;
  const m = report.firstMismatch;
  const why = [
    ...(r ? [`call ${r.index}: inc(${r.sent}) answered ${r.reply}`] : []),
    ...(m ? [`call ${m.index}: A sent ${m.sent}, B saw ${m.seen}`] : []),
  ];
  const where = why.length > 0 ? ` (${why.join('; ')})` : '';
  return (
    `counter: ${report.rounds} inc() calls A→B and 1 notify, last=${report.last}, in order: ${report.inOrder}${where}, ` +
    `${report.callsPerSecond} calls/s over the whole run (the check's fetch of B's record included)`
  );
}

/** Replication's options from its flags, checked before any worker starts. */
export function replicationOptions(values: Values): ReplicationOptions {
  return {
    // Unbounded, --writes 4294967296 started the cluster and then failed to make its array of writes.
    writes: numberFlag(values, 'writes', 2000, { min: 1, max: MAX_WRITES }),
    replicas: numberFlag(values, 'replicas', 2, { min: 1, max: MAX_REPLICAS }),
    kind: choiceFlag(values, 'kind', ['thread', 'process'] as const, 'thread'),
  };
}

export async function replication(values: Values, json: boolean): Promise<Verdict> {
  const results = await runReplication(replicationOptions(values));
  console.log(json ? JSON.stringify(results, null, 2) : replicationTable(results));
  const ordered = results.find((r) => r.mode === 'ordered')!;
  // The ordered path must never diverge; the pooled one is expected to.
  return ordered.divergedReplicas === 0 && ordered.overtakenWrites === 0 ? 0 : 1;
}

/** Both modes side by side, what the columns count, and any write the pool lost. */
export function replicationTable(results: readonly ModeResult[]): string {
  const columns = [
    ['mode', (r: ModeResult) => r.mode],
    ['writes', (r: ModeResult) => String(r.writes)],
    ['diverged replicas', (r: ModeResult) => `${r.divergedReplicas} of ${r.replicas}`],
    ['overtaken writes', (r: ModeResult) => String(r.overtakenWrites)],
    ['differing keys', (r: ModeResult) => `${r.differingKeys} of ${r.replicas * Math.min(r.writes, KEYS)}`],
  ] as const;
  const row = (cells: readonly string[]): string =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(8) : cell.padStart(columns[i]![0].length))).join('  ');
  return [
    row(columns.map(([title]) => title)),
    ...results.map((r) => row(columns.map(([, cell]) => cell(r)))),
    "diverged: a replica's writes (seq, key, value) are not the primary's history in order, or its final values not the primary's",
    "overtaken: applied after a write with a higher seq; differing keys: final values not the primary's (both over all replicas)",
    ...results
      .filter((r) => r.lostWrites > 0)
      .map((r) => `${r.mode}: ${r.lostWrites} writes lost, the pool failed them (the first: ${r.firstLoss}); no replica got them`),
  ].join('\n');
}
