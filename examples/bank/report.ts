// The run's report: throughput, latency, faults and recovery, and the checker's verdict, as JSON and
// as a plain-text table for the terminal.
import type { Verdict } from './checker.js';
import type { LockPolicy } from './lock-table.js';
import type { TransferResult } from './teller-state.js';

export interface Death {
  name: string;
  reason: string;
  /** Milliseconds since the run started. */
  atMs: number;
  /** Whether the run caused it (`cluster.kill`) rather than the worker failing by itself. */
  chaos: boolean;
  /** For a crash, the uncaught error it crashed with (`Name: message`), such as a log that failed. */
  error?: string;
}

export interface Recovery {
  name: string;
  /** From death until the runtime reported the restart. */
  restartMs: number;
  /** From death until the restarted worker had replayed its log and resolved every in-doubt tx. */
  recoveredMs?: number;
}

/**
 * The end of the run: every worker back, everything the tellers sent handled, nothing in doubt or waiting
 * for a lock. Only then do the logs hold the whole run; a check of books still moving proves nothing.
 */
export type Settle =
  | { ok: true; ms: number }
  | {
      ok: false;
      ms: number;
      /** The `settleTimeoutMs` it ran out of. */
      timeoutMs: number;
      /** What the last attempt found unsettled: workers not back, shards with doubts, or why it failed. */
      left: string;
    };

export interface ReportInput {
  /** How long transfers were started: the run's length, or until Ctrl-C. */
  durationMs: number;
  /** When the last teller's last batch returned (after a restart it waited for, say); ≥ durationMs. */
  lastBatchMs?: number;
  /** Results the tellers returned; a batch in flight on a teller that died is lost, so this undercounts. */
  results: TransferResult[];
  deaths: Death[];
  restarts: number;
  recoveries: Recovery[];
  verdict: Verdict;
  locks: { policy: LockPolicy; waitTimeoutMs: number };
  /** The agents' hosts the run killed (`agents` with chaos), each taking its shards with it. */
  agentKills?: string[];
  /** How the end of the run settled, before the checker read the logs. */
  settle: Settle;
}

export interface Report {
  /** How long transfers were started: what `transfersPerSec` divides by. */
  durationMs: number;
  /** When the last teller's last batch returned. */
  lastBatchMs: number;
  /** Committed plus aborted: every transfer the logs or the results know of. */
  transfers: number;
  /** From the checker (the logs), so it includes transfers whose results died with a teller. */
  committed: number;
  aborted: { total: number; byCause: Record<string, number> };
  transfersPerSec: number;
  /** The lock policy, and the transfers that waited for a lock (from the results), with how long. */
  locks: {
    policy: LockPolicy;
    waitTimeoutMs: number;
    waited: number;
    waitMs: { p50: number; p99: number; max: number };
  };
  latencyMs: { p50: number; p99: number; max: number; samples: number };
  deaths: Death[];
  restarts: number;
  recoveries: Recovery[];
  recoveryMs: { p50: number; max: number };
  agentKills: string[];
  settle: Settle;
  verdict: Verdict;
}

/** Nearest-rank percentile of an ascending array; 0 for none. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function buildReport(input: ReportInput): Report {
  // From the logs (the checker), not the results: a batch whose teller died returned no results, and
  // its aborts kept their causes in the teller's log. `teller-died`: no decision was logged at all.
  const byCause = { ...input.verdict.abortsByCause };
  const reportedAborts = input.results.filter((r) => r.outcome === 'aborted').length;
  const latencies = input.results.map((r) => r.latencyMs).sort((a, b) => a - b);
  const recovered = input.recoveries
    .map((r) => r.recoveredMs)
    .filter((x): x is number => x !== undefined)
    .sort((a, b) => a - b);
  const committed = input.verdict.totals.committed;
  const aborted = Math.max(input.verdict.totals.aborted, reportedAborts);
  const waits = input.results
    .map((r) => r.lockWaitMs)
    .filter((x): x is number => x !== undefined)
    .sort((a, b) => a - b);
  // Whole milliseconds: a difference of clock readings has float noise (7999.999999999999).
  const durationMs = Math.round(input.durationMs);
  return {
    durationMs,
    lastBatchMs: Math.round(input.lastBatchMs ?? input.durationMs),
    transfers: committed + aborted,
    committed,
    aborted: { total: aborted, byCause },
    transfersPerSec: durationMs > 0 ? (committed * 1000) / durationMs : 0,
    locks: {
      ...input.locks,
      waited: waits.length,
      waitMs: { p50: percentile(waits, 50), p99: percentile(waits, 99), max: waits.at(-1) ?? 0 },
    },
    latencyMs: {
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: latencies.at(-1) ?? 0,
      samples: latencies.length,
    },
    deaths: input.deaths,
    restarts: input.restarts,
    recoveries: input.recoveries,
    recoveryMs: { p50: percentile(recovered, 50), max: recovered.at(-1) ?? 0 },
    agentKills: input.agentKills ?? [],
    settle: { ...input.settle, ms: Math.round(input.settle.ms) },
    verdict: input.verdict,
  };
}

const ms = (x: number): string => `${x.toFixed(x < 10 ? 2 : 0)} ms`;

/** The report as an aligned two-column table, then one line per violation. */
export function formatReport(r: Report): string {
  const share = (n: number): string => `${n} (${r.transfers > 0 ? ((n * 100) / r.transfers).toFixed(1) : '0.0'}%)`;
  const { locks } = r;
  const rows: [string, string][] = [
    // The last batch's return is shown only when a wait (a teller's restart) held it up noticeably.
    ['duration', `${ms(r.durationMs)}${r.lastBatchMs > r.durationMs * 1.05 ? ` (the last batch returned at ${ms(r.lastBatchMs)})` : ''}`],
    ['lock policy', locks.policy === 'wound-wait' ? `wound-wait (waits up to ${locks.waitTimeoutMs} ms)` : 'no-wait (refuses at once)'],
    ['transfers', String(r.transfers)],
    ['committed', share(r.committed)],
    ['aborted', share(r.aborted.total)],
    ...Object.entries(r.aborted.byCause)
      .sort(([, a], [, b]) => b - a)
      .map(([cause, n]): [string, string] => [`  ${cause}`, share(n)]),
    ['committed transfers/s', r.transfersPerSec.toFixed(0)],
    // Of the transfers whose results came back: only they say whether they waited.
    [
      'waited for a lock',
      `${locks.waited} of ${r.latencyMs.samples} reported (${r.latencyMs.samples > 0 ? ((locks.waited * 100) / r.latencyMs.samples).toFixed(1) : '0.0'}%), p50 ${ms(locks.waitMs.p50)}, p99 ${ms(locks.waitMs.p99)}, max ${ms(locks.waitMs.max)}`,
    ],
    ['latency p50', ms(r.latencyMs.p50)],
    ['latency p99', ms(r.latencyMs.p99)],
    ['latency max', ms(r.latencyMs.max)],
    ['deaths', `${r.deaths.length} (${r.deaths.filter((d) => d.chaos).length} by chaos)`],
    // A worker that failed by itself says why: the one thing a reader of the report will ask.
    ...r.deaths
      .filter((d) => !d.chaos)
      .map((d): [string, string] => [`  ${d.name} at ${(d.atMs / 1000).toFixed(1)} s`, `${d.reason}${d.error ? `: ${d.error}` : ''}`]),
    ...(r.agentKills.length > 0 ? [['agents killed', r.agentKills.join(', ')] as [string, string]] : []),
    ['restarts', String(r.restarts)],
    ['recovery p50', ms(r.recoveryMs.p50)],
    ['recovery max', ms(r.recoveryMs.max)],
    [
      'settled',
      r.settle.ok ? `in ${ms(r.settle.ms)}` : `NO: not within ${r.settle.timeoutMs} ms${r.settle.left ? ` (${r.settle.left})` : ''}`,
    ],
    ['total balance', `${r.verdict.totals.openingTotal} -> ${r.verdict.totals.finalTotal}`],
    ['in doubt at end', String(r.verdict.totals.inDoubt)],
    ['checker', r.verdict.ok ? 'OK' : `FAILED (${r.verdict.violations.length} violations)`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
  for (const v of r.verdict.violations.slice(0, 20)) {
    lines.push(`  ! ${v.txId ?? '(no tx)'}${v.account ? ` [${v.account}]` : ''}: ${v.what}`);
  }
  if (r.verdict.violations.length > 20) lines.push(`  ! ... ${r.verdict.violations.length - 20} more`);
  return lines.join('\n');
}

/** The report as JSON (the same object; a function so callers need not care about formatting). */
export const reportJson = (r: Report): string => JSON.stringify(r, null, 2);
