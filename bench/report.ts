// Turning outcomes into the stdout table and the JSON record (every repetition plus the machine).

import { readFileSync } from 'node:fs';
import os from 'node:os';
import { summarize, timesBetter, type Outcome, type Stat, type Unit } from './harness.js';
import type { ComparisonResult } from './interleave.js';

export interface RunInfo {
  readonly quick: boolean;
  readonly repetitions: number;
  readonly only: readonly string[];
}

interface Row {
  readonly outcome: Outcome;
  readonly metric: string;
  readonly stat: Stat;
  /** How many times better than the baseline's same metric (> 1 = better). */
  readonly ratio?: number;
}

function rows(outcomes: readonly Outcome[]): Row[] {
  const stats = new Map(outcomes.map((o) => [o.scenario.name, summarize(o.reps)]));
  return outcomes.flatMap((o) => {
    const base = o.scenario.baseline === undefined ? undefined : stats.get(o.scenario.baseline);
    return [...stats.get(o.scenario.name)!].map(([metric, stat]) => {
      const b = base?.get(metric) ?? (base?.size === 1 ? base.get('value') : undefined);
      const ratio = b ? timesBetter(stat, b, o.scenario.higherIsBetter) : undefined;
      return { outcome: o, metric, stat, ...(ratio === undefined ? {} : { ratio }) };
    });
  });
}

/**
 * The CPU's family and model numbers (Linux, from /proc/cpuinfo), or undefined elsewhere. A virtual machine
 * may name its CPU only "AMD EPYC": two machines under that one name ran the bench's absolute figures 2× apart
 * (pipelined calls coord↔thread 1.95M/s on one, 4.0M/s on the other), and some of its ratios moved too.
 */
function cpuGeneration(): { family: number; model: number } | undefined {
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const family = /^cpu family\s*:\s*(\d+)/m.exec(info)?.[1];
    const model = /^model\s*:\s*(\d+)/m.exec(info)?.[1];
    return family && model ? { family: Number(family), model: Number(model) } : undefined;
  } catch {
    return undefined;
  }
}

export function machine() {
  const cpus = os.cpus();
  const generation = cpuGeneration();
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    ...(generation ? { cpuFamily: generation.family, cpuModelNumber: generation.model } : {}),
    cpuCount: cpus.length,
    totalMemMB: Math.round(os.totalmem() / 2 ** 20),
    platform: os.platform(),
    release: os.release(),
    arch: os.arch(),
    node: process.version,
    v8: process.versions.v8,
    loadavg: os.loadavg(),
  };
}

export function toJson(outcomes: readonly Outcome[], info: RunInfo, date: Date) {
  const all = rows(outcomes);
  return {
    date: date.toISOString(),
    ...info,
    machine: machine(),
    ratioConvention:
      'timesBetter = how many times better than the baseline, from medians: this/baseline when higher is better, baseline/this otherwise',
    scenarios: outcomes.map((o) => {
      const { name, group, unit, higherIsBetter, baseline } = o.scenario;
      const metrics = Object.fromEntries(
        all
          .filter((r) => r.outcome === o)
          .map((r) => [
            r.metric,
            { median: r.stat.median, min: r.stat.min, max: r.stat.max, ...(r.ratio === undefined ? {} : { timesBetter: r.ratio }) },
          ]),
      );
      return {
        name,
        group,
        unit,
        higherIsBetter,
        baseline,
        seconds: o.seconds,
        warmup: o.warmup,
        reps: o.reps,
        metrics,
        ...(o.error ? { error: o.error } : {}),
      };
    }),
  };
}

export function formatTable(outcomes: readonly Outcome[], info: RunInfo, date: Date): string {
  const m = machine();
  const lines = [
    `convoy bench · ${info.quick ? 'quick · ' : ''}1 warm-up + ${info.repetitions} repetitions · Node ${m.node} · ` +
      `${m.cpuCount} × ${m.cpuModel} · load ${m.loadavg.map((l) => l.toFixed(1)).join(' ')} · ${date.toISOString()}`,
    '× baseline = how many times better than the named baseline, from medians (calls/s: this/baseline; ' +
      'µs, ms, MB: baseline/this). > 1 is better, < 1 is worse.',
  ];
  const table: string[][] = [['scenario', 'median', 'min – max', '× baseline']];
  let group: string | undefined;
  const all = rows(outcomes);
  for (const o of outcomes) {
    if (o.scenario.group !== group) {
      group = o.scenario.group;
      table.push([`── ${group}`]);
    }
    if (o.error) table.push([`  ${o.scenario.name}`, `FAILED: ${o.error}`]);
    for (const r of all.filter((x) => x.outcome === o)) {
      const { unit } = o.scenario;
      table.push([
        `  ${o.scenario.name}${r.metric === 'value' ? '' : ` ${r.metric}`}`,
        `${fmt(r.stat.median, unit)} ${unit}`,
        `${fmt(r.stat.min, unit)} – ${fmt(r.stat.max, unit)}`,
        r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}× ${o.scenario.baseline}`,
      ]);
    }
  }
  const widths = table[0]!.map((_, i) => Math.max(...table.filter((r) => r.length > 1).map((r) => r[i]?.length ?? 0)));
  for (const r of table)
    lines.push(
      r.length === 1
        ? r[0]!
        : r
            .map((c, i) => c.padEnd(widths[i]!))
            .join('  ')
            .trimEnd(),
    );
  return lines.join('\n');
}

export function fmt(v: number, unit: string): string {
  if (unit === 'calls/s') {
    if (v >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
    if (v >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
    return v.toFixed(0);
  }
  if (unit === '') return v.toFixed(0);
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(unit === 'ms' || unit === 'MB' ? 2 : 1);
}

/** The unit of one metric of an arm: `rssPerWorkerMB` is in MB whatever the arm's unit, `openPairs` a count. */
export function metricUnit(metric: string, unit: Unit): string {
  if (metric.endsWith('MB')) return 'MB';
  if (metric.endsWith('KB')) return 'KB';
  if (metric.endsWith('Pairs')) return '';
  return unit;
}

/** One row per comparison and metric: the subject's median (range), the baseline's, and the per-pair ratio. */
export function comparisonRows(results: readonly ComparisonResult[]): { group?: string; cells?: string[] }[] {
  const out: { group?: string; cells?: string[] }[] = [];
  let group: string | undefined;
  const range = (x: { median: number; min: number; max: number }, u: string) =>
    `${fmt(x.median, u)}${u ? ` ${u}` : ''} (${fmt(x.min, u)} – ${fmt(x.max, u)})`;
  for (const r of results) {
    if (r.group !== group) out.push({ group: (group = r.group) });
    if (r.error) {
      out.push({ cells: [r.subject, `FAILED: ${r.error}`, r.baseline ?? '', '', ''] });
      for (const [metric, b] of Object.entries(r.baselineAlone ?? {})) {
        const u = metricUnit(metric, r.unit);
        out.push({ cells: [`  (measured alone) ${metric}`, '', `${r.baseline}: ${range(b, u)}`, '', ''] });
      }
      continue;
    }
    for (const [metric, m] of Object.entries(r.metrics)) {
      const u = metricUnit(metric, r.unit);
      out.push({
        cells: [
          `${r.subject}${metric === 'value' ? '' : ` ${metric}`}${r.oneCpu ? ' (one CPU)' : ''}`,
          range(m.subject, u),
          m.baseline ? `${r.baseline}: ${range(m.baseline, u)}` : '',
          m.ratio ? `${m.ratio.median.toFixed(2)}×` : '',
          m.ratio ? `${m.ratio.q1.toFixed(2)} – ${m.ratio.q3.toFixed(2)} (${m.ratio.min.toFixed(2)} – ${m.ratio.max.toFixed(2)})` : '',
        ],
      });
    }
  }
  return out;
}

export function formatComparisons(results: readonly ComparisonResult[]): string {
  const rows = comparisonRows(results);
  const header = ['subject', 'median (min – max) over windows', 'baseline: median (min – max)', 'ratio', 'ratio q1 – q3 (min – max)'];
  const cells = [header, ...rows.flatMap((r) => (r.cells ? [r.cells] : []))];
  const widths = header.map((_, i) => Math.max(...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((x, i) => x.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [
    'interleaved comparisons: ratio = subject / baseline per pair of windows, median over the pairs, their middle half (q1 – q3) and range',
    line(header),
    ...rows.map((r) => (r.group ? `── ${r.group}` : line(r.cells!))),
  ].join('\n');
}

/** The machine's 1-minute load average, sampled through the run (the figures mean little without it). */
export class LoadWatch {
  readonly #samples: number[] = [os.loadavg()[0]!];
  readonly #timer = setInterval(() => this.#samples.push(os.loadavg()[0]!), 5_000).unref();

  stop(): { start: number; end: number; min: number; max: number; mean: number } {
    clearInterval(this.#timer);
    this.#samples.push(os.loadavg()[0]!);
    const s = this.#samples;
    return { start: s[0]!, end: s[s.length - 1]!, min: Math.min(...s), max: Math.max(...s), mean: s.reduce((a, b) => a + b, 0) / s.length };
  }
}
