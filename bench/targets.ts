// Targets: how a comparison's figures are judged against a bound (interleave.ts calls `judge`), and a run's
// targets gathered and formatted for stdout and for the README (bench/readme-table.ts), so both say the same.

import type { Unit } from './harness.js';
import type { ComparisonResult, MetricResult, Spread } from './interleave.js';

export interface TargetSpec {
  /** e.g. `coord↔thread one at a time p50 ≤ 1.2× raw port ping-pong`. */
  readonly what: string;
  /** `value` for single-figure arms, else `p50`, `p99`, …. */
  readonly metric?: string;
  /** `ratio` (default): subject / baseline, per pair. `subject`: the subject's own figure, per window. */
  readonly of?: 'ratio' | 'subject';
  /** `≈`: |ratio − 1| ≤ bound (the A-vs-A calibration). */
  readonly op: '<=' | '>=' | '≈';
  readonly bound: number;
}

export interface TargetResult {
  what: string;
  /** `≤ 1.2×`, `≥ 2×`, `≤ 50 ms`, `≈ 1 ± 0.1`. */
  required: string;
  /** The median ratio (or the subject's median, for absolute targets). */
  actual?: number;
  spread?: Spread;
  met?: boolean;
  /** How far from the bound, as a factor (> 1 met with room, < 1 missed). */
  margin?: number;
  /**
   * Whether the middle half of the pairs (q1–q3) lies on the median's side of the bound: a firm verdict.
   * A borderline one (the middle half straddles the bound) could flip in another run.
   */
  firm?: boolean;
  /** Why it could not be judged: the comparison failed, or was left out. */
  missing?: string;
  /** Medians of both sides, e.g. `41.5 vs 37.8 µs`. */
  detail: string;
}

const num = (v: number): string => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));

export function judge(t: TargetSpec, metrics: Record<string, MetricResult>, unit: Unit, error: string | undefined): TargetResult {
  const ofRatio = (t.of ?? 'ratio') === 'ratio';
  const suffix = ofRatio ? '×' : ` ${unit}`;
  const required = t.op === '≈' ? `≈ 1 ± ${t.bound}` : `${t.op === '>=' ? '≥' : '≤'} ${t.bound}${suffix}`;
  if (error) return { what: t.what, required, met: false, missing: `failed: ${error}`, detail: '' };
  const m = metrics[t.metric ?? 'value'];
  const s = m && (ofRatio ? m.ratio : m.subject);
  if (!m || !s) return { what: t.what, required, missing: `no ${t.metric ?? 'value'}${ofRatio ? ' ratio' : ''}`, detail: '' };
  const meets = (v: number): boolean => (t.op === '>=' ? v >= t.bound : t.op === '<=' ? v <= t.bound : Math.abs(v - 1) <= t.bound);
  // A two-sided bound has no direction to spare room in: its verdict is only met or missed.
  const margin = t.op === '>=' ? s.median / t.bound : t.op === '<=' ? t.bound / s.median : undefined;
  const detail = m.baseline ? `${num(m.subject.median)} vs ${num(m.baseline.median)} ${unit}` : `median ${num(m.subject.median)} ${unit}`;
  return {
    what: t.what,
    required,
    actual: s.median,
    spread: s,
    met: meets(s.median),
    ...(margin === undefined ? {} : { margin }),
    firm: meets(s.q1) === meets(s.median) && meets(s.q3) === meets(s.median),
    detail,
  };
}

/**
 * `met, 2.3× the bound` / `met, 12% to spare` / `MISSED by 35%` / `MISSED by 0.4%`; `(borderline)` when the
 * middle half of the pairs straddles the bound.
 */
export function verdict(r: TargetResult): string {
  if (r.missing) return r.met === false ? `MISSED (${r.missing})` : `not checked (${r.missing})`;
  const m = r.margin;
  const crossing = r.firm ? '' : ' (borderline)';
  if (m === undefined) return `${r.met ? 'met' : 'MISSED'}${crossing}`;
  if (r.met) return `${m >= 1.995 ? `met, ${m.toFixed(1)}× the bound` : `met, ${percent(m - 1)} to spare`}${crossing}`;
  return `${m <= 0.5 ? `MISSED, ${(1 / m).toFixed(1)}× off` : `MISSED by ${percent(1 / m - 1)}`}${crossing}`;
}

/**
 * A margin as a percentage: whole from 1% up, to a tenth of a percent below that, and `less than 0.1%` for a
 * hair, which read `MISSED by 0%` before (a median pair of 1.00000000006× against a bound of 1×, thread ↔
 * thread against birpc).
 */
function percent(fraction: number): string {
  const pct = fraction * 100;
  if (pct >= 0.95) return `${pct.toFixed(0)}%`;
  return pct >= 0.05 ? `${pct.toFixed(1)}%` : 'less than 0.1%';
}

export interface JudgedTarget extends TargetResult {
  /** `subject vs baseline`, the rows it was judged on. */
  judgedOn: string;
}

export function collectTargets(results: readonly ComparisonResult[]): JudgedTarget[] {
  return results.flatMap((r) => r.targets.map((t) => ({ ...t, judgedOn: r.baseline ? `${r.subject} vs ${r.baseline}` : r.subject })));
}

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
