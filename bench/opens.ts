// A suite opened several times, each time in a fresh process (Suite.opens): the results of its opens
// merged into one per comparison, judged on all their pairs together.
//
// Why: within one open the windows of a pair lie close together, so the per-pair ratios agree with each
// other; but the arms' processes are started once per open, and a process brings its own state — where its
// heap and code landed, what V8 optimised and when — which stays with it for every window. Five runs of the
// thread ↔ thread calls suite in one process each, within twelve minutes on a quiet machine, put convoy /
// birpc one call at a time at 1.06, 0.98, 1.02, 0.94 and 0.99, the middle half (q1–q3) 0.01–0.04 wide in all
// but one; convoy / the raw port at 1.06–1.14 likewise (bench/README.md, "Three processes per calls suite").
// One open's verdict on a bound that close is a coin toss that looks firm.

import type { RunOptions } from './harness.js';
import { summarizeWindows, type ComparisonResult, type Suite } from './interleave.js';
import { judge } from './targets.js';

/** Which comparison a result is, across opens: the same arms, pinned or not, the n-th such in its open. */
function keysOf(results: readonly ComparisonResult[]): string[] {
  const seen = new Map<string, number>();
  return results.map((r) => {
    const base = `${r.subject}\u0000${r.baseline ?? ''}\u0000${r.oneCpu ? 1 : 0}`;
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    return `${base}\u0000${n}`;
  });
}

/**
 * One result per comparison from the results of each open (`opens[k]`, in order): every window of every
 * open, the metrics and targets taken from all of them, the median ratio each open read on its own
 * (`perOpen`), and the first error any open met (which fails the comparison, as a failed window does).
 * Comparisons come in the order they first appear; one that some opens never reached (their process died)
 * is merged from those that did.
 */
export function mergeOpens(opens: readonly (readonly ComparisonResult[])[]): ComparisonResult[] {
  if (opens.length === 1) return [...opens[0]!];
  const groups = new Map<string, { open: number; result: ComparisonResult }[]>();
  opens.forEach((results, open) => {
    const keys = keysOf(results);
    results.forEach((result, i) => {
      const group = groups.get(keys[i]!) ?? [];
      group.push({ open, result });
      groups.set(keys[i]!, group);
    });
  });
  return [...groups.values()].map((parts) => merge(parts, opens.length));
}

function merge(parts: readonly { open: number; result: ComparisonResult }[], opens: number): ComparisonResult {
  const first = parts[0]!.result;
  const failed = parts.find((p) => p.result.error !== undefined);
  const error = failed ? `${failed.result.error} (open ${failed.open + 1} of ${opens})` : undefined;
  const windows = parts.flatMap((p) => p.result.windows);
  const metrics = error ? {} : summarizeWindows(windows);
  const perOpen: Record<string, number[]> = {};
  for (const p of parts) {
    for (const [name, m] of Object.entries(p.result.metrics)) {
      if (m.ratio) (perOpen[name] ??= []).push(m.ratio.median);
    }
  }
  const baselineAlone = parts.find((p) => p.result.baselineAlone)?.result.baselineAlone;
  return {
    ...first,
    pairs: parts.reduce((sum, p) => sum + p.result.pairs, 0),
    opens: parts.length,
    metrics,
    ...(Object.keys(perOpen).length ? { perOpen } : {}),
    windows,
    targets: (first.specs ?? []).map((spec) => {
      const judged = judge(spec, metrics, first.unit, error);
      const each = (spec.of ?? 'ratio') === 'ratio' ? perOpen[spec.metric ?? 'value'] : undefined;
      return each && !judged.missing
        ? { ...judged, detail: `${judged.detail}; each open ${each.map((v) => `${v.toFixed(2)}×`).join(', ')}` }
        : judged;
    }),
    seconds: parts.reduce((sum, p) => sum + p.result.seconds, 0),
    ...(error ? { error } : {}),
    ...(baselineAlone ? { baselineAlone } : {}),
  };
}

/**
 * Runs `suite` once per its `opens` (`runOpen` opens it, runs its comparisons and closes it: in a fresh
 * process, or in this one with `--same-process`), then hands `onResult` the merged results. A suite of one
 * open streams its results as they come. `progress` gets a line as each of several opens ends.
 */
export async function runOpens(
  suite: Suite,
  opts: RunOptions,
  runOpen: (opts: RunOptions, onResult: (r: ComparisonResult) => void) => Promise<ComparisonResult[]>,
  onResult: (r: ComparisonResult) => void,
  progress: (line: string) => void = () => {},
): Promise<ComparisonResult[]> {
  const opens = suite.opens ?? 1;
  if (opens <= 1) return runOpen(opts, onResult);
  const all: ComparisonResult[][] = [];
  for (let k = 0; k < opens; k++) {
    const started = performance.now();
    const results = await runOpen({ ...opts, opens }, () => {});
    progress(`  open ${k + 1} of ${opens}: ${results.length} results (${((performance.now() - started) / 1000).toFixed(1)} s)\n`);
    all.push(results);
  }
  const merged = mergeOpens(all);
  for (const r of merged) onResult(r);
  return merged;
}
