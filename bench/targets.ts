// The targets, as judged by the interleaved comparisons (interleave.ts): gathered from a run's results,
// formatted for stdout and for the README (bench/readme-table.ts), so both say the same.

import { verdict, type ComparisonResult, type TargetResult } from './interleave.js';

export interface JudgedTarget extends TargetResult {
  /** `subject vs baseline`, the rows it was judged on. */
  judgedOn: string;
}

export function collectTargets(results: readonly ComparisonResult[]): JudgedTarget[] {
  return results.flatMap((r) => r.targets.map((t) => ({ ...t, judgedOn: r.baseline ? `${r.subject} vs ${r.baseline}` : r.subject })));
}

const num = (v: number): string => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));

/** The cells of one target's row: target, median, pairs' middle half (and full range), verdict, medians of both sides. */
export function targetCells(t: JudgedTarget): [string, string, string, string, string] {
  const ratio = t.required.endsWith('×') || t.required.startsWith('≈');
  const fmt = (v: number) => `${num(v)}${ratio ? '×' : ''}`;
  return [
    `${t.what} (${t.required})`,
    t.actual === undefined ? '–' : fmt(t.actual),
    t.spread ? `${fmt(t.spread.q1)} – ${fmt(t.spread.q3)} (${fmt(t.spread.min)} – ${fmt(t.spread.max)})` : '',
    verdict(t),
    t.detail,
  ];
}

export function summaryLine(targets: readonly JudgedTarget[]): string {
  const met = targets.filter((t) => t.met).length;
  const judged = targets.filter((t) => t.met !== undefined).length;
  const firm = targets.filter((t) => t.met && t.firm).length;
  return `${met} of ${judged} targets met (${firm} firmly: the middle half of the pairs meets it too)${judged < targets.length ? `, ${targets.length - judged} not checked` : ''}`;
}

export function formatTargets(targets: readonly JudgedTarget[]): string {
  const rows = [['target', 'median', 'pairs: q1 – q3 (min – max)', 'verdict', 'medians'], ...targets.map(targetCells)];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return [
    `targets, each judged on the median of interleaved per-pair ratios: ${summaryLine(targets)}`,
    ...rows.map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    ),
  ].join('\n');
}
