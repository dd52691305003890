// Turning outcomes into the stdout table and the JSON record (every repetition plus the machine).

import os from 'node:os';
import { summarize, timesBetter, type Outcome, type Stat, type Unit } from './harness.js';

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

export function machine() {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
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

function fmt(v: number, unit: Unit): string {
  if (unit === 'calls/s') {
    if (v >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
    if (v >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
    return v.toFixed(0);
  }
  return v.toFixed(unit === 'ms' ? 2 : 1);
}
