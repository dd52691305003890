/**
 * The bank's lock policies side by side: runs the default bank (as `npm start` does: `convoy bank
 * --seconds 10 --crash`, threads and processes) alternately with wound-wait and no-wait, in one process,
 * and prints each run's figures, each policy's medians, and the median of per-pair ratios.
 *
 *   node --import tsx scripts/bank-locks.ts [--pairs 5] [--seconds 10]
 *
 * Pairs alternate which policy goes first, so a drift in the machine's load does not favour one.
 */
import { parseArgs } from 'node:util';
import { percentile } from '../examples/bank/report.js';
import type { LockPolicy } from '../examples/bank/lock-table.js';
import { runBank } from '../examples/bank/run.js';
import { bankOptions } from '../examples/cli/commands.js';

const { values: argv } = parseArgs({ options: { pairs: { type: 'string', default: '5' }, seconds: { type: 'string', default: '10' } } });
const pairs = Number(argv.pairs);

interface Row {
  policy: LockPolicy;
  committedPerSec: number;
  abortedPct: number;
  causes: Record<string, number>;
  waitedPct: number;
  latencyP50: number;
  latencyP99: number;
  ok: boolean;
}

async function once(policy: LockPolicy): Promise<Row> {
  const r = await runBank({ ...bankOptions({ seconds: argv.seconds, crash: true }), lockPolicy: policy });
  const pct = (n: number) => (n * 100) / r.transfers;
  return {
    policy,
    committedPerSec: r.transfersPerSec,
    abortedPct: pct(r.aborted.total),
    causes: Object.fromEntries(Object.entries(r.aborted.byCause).map(([c, n]) => [c, pct(n)])),
    waitedPct: pct(r.locks.waited),
    latencyP50: r.latencyMs.p50,
    latencyP99: r.latencyMs.p99,
    ok: r.verdict.ok,
  };
}

const CAUSES = ['locked', 'wounded', 'lock-timeout', 'funds', 'shard-died', 'teller-died', 'timeout'];
const f1 = (x: number) => x.toFixed(1).padStart(6);
const header = `policy       committed/s  aborted%  ${CAUSES.map((c) => `${c}%`.padStart(14)).join('')}  waited%  p50 ms  p99 ms  checker`;
const line = (r: Row) =>
  `${r.policy.padEnd(11)}  ${r.committedPerSec.toFixed(0).padStart(11)}  ${f1(r.abortedPct).padStart(8)}  ${CAUSES.map((c) => f1(r.causes[c] ?? 0).padStart(14)).join('')}  ${f1(r.waitedPct).padStart(7)}  ${f1(r.latencyP50)}  ${f1(r.latencyP99)}  ${r.ok ? 'OK' : 'FAILED'}`;

const { loadavg } = await import('node:os');
console.log(
  `load ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}; ${pairs} pairs of ${argv.seconds} s runs`,
);
console.log(header);
const rows: Row[] = [];
const ratios: number[] = [];
for (let i = 0; i < pairs; i++) {
  const order: LockPolicy[] = i % 2 === 0 ? ['wound-wait', 'no-wait'] : ['no-wait', 'wound-wait'];
  const pair: Row[] = [];
  for (const policy of order) {
    const row = await once(policy);
    pair.push(row);
    rows.push(row);
    console.log(line(row));
  }
  const [wait, refuse] = ['wound-wait', 'no-wait'].map((p) => pair.find((r) => r.policy === p)!);
  ratios.push(wait!.committedPerSec / refuse!.committedPerSec);
}
const median = (xs: number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );
console.log('\nmedians');
for (const policy of ['wound-wait', 'no-wait'] as const) {
  const mine = rows.filter((r) => r.policy === policy);
  const causes = Object.fromEntries(CAUSES.map((c) => [c, median(mine.map((r) => r.causes[c] ?? 0))]));
  console.log(
    line({
      policy,
      committedPerSec: median(mine.map((r) => r.committedPerSec)),
      abortedPct: median(mine.map((r) => r.abortedPct)),
      causes,
      waitedPct: median(mine.map((r) => r.waitedPct)),
      latencyP50: median(mine.map((r) => r.latencyP50)),
      latencyP99: median(mine.map((r) => r.latencyP99)),
      ok: mine.every((r) => r.ok),
    }),
  );
}
console.log(
  `\ncommitted/s, wound-wait / no-wait, per pair: ${ratios.map((x) => x.toFixed(2)).join(' ')}; median ×${median(ratios).toFixed(2)}`,
);
console.log(
  `load ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
