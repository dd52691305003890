// `node --import tsx bench/readme-table.ts [results.json] [--readme README.md] [--print]`
// Regenerates the benchmark section of the project README from a bench run's JSON record
// (bench/results/latest.json by default): only the text between `<!-- bench:start -->` and
// `<!-- bench:end -->` is replaced. Without those markers the README is left alone and the section is
// printed, with a note. `--print` only prints.
//
// The section: the run's machine, the load it ran under and the build; the targets (each judged on the
// median of interleaved per-pair ratios, with the spread); the interleaved comparisons; then the
// sequential figures that have no target.

import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ComparisonResult } from './interleave.js';
import type { PartRun } from './merge-results.js';
import { comparisonRows, fmt } from './report.js';
import { summaryLine, targetCells, type JudgedTarget } from './targets.js';
import { formatGaugeRange, type GaugeReading } from './host-gauge.js';

const START = '<!-- bench:start -->';
const END = '<!-- bench:end -->';

interface Scenario {
  name: string;
  group: string;
  unit: string;
  baseline?: string;
  metrics: Record<string, { median: number; min: number; max: number; timesBetter?: number }>;
  error?: string;
}

interface RunJson {
  date: string;
  quick: boolean;
  repetitions: number;
  only: string[];
  minutes?: number;
  machine: { cpuModel: string; cpuFamily?: number; cpuModelNumber?: number; cpuCount: number; node: string; loadavg: number[] };
  loadDuringRun?: { start: number; end: number; min: number; max: number; mean: number };
  hostGauge?: { what: string; readings: GaugeReading[] };
  convoyBuild?: { flavor: string; note: string; revision?: string };
  /** Where the suites ran (run.ts, `--same-process`); absent in records made before it was recorded. */
  suitesIn?: 'a process each' | 'one process';
  comparisons?: ComparisonResult[];
  targets?: JudgedTarget[];
  scenarios: Scenario[];
  partRuns?: PartRun[];
}

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { readme: { type: 'string' }, print: { type: 'boolean', default: false } },
});

const here = path.dirname(fileURLToPath(import.meta.url));
const resultsFile = path.resolve(positionals[0] ?? path.join(here, 'results/latest.json'));
const readmeFile = path.resolve(args.readme ?? path.join(here, '../README.md'));

const esc = (s: string): string => s.replace(/\|/g, '\\|');
const row = (cells: string[]): string => `| ${cells.map(esc).join(' | ')} |`;

/** Which suites were opened several times (Suite.opens), each open a process. */
function opensNote(r: RunJson): string {
  const several = new Map<string, number>();
  for (const c of r.comparisons ?? []) if ((c.opens ?? 1) > 1) several.set(c.suite, c.opens!);
  if (several.size === 0) return '';
  const counts = new Set(several.values());
  const each = counts.size === 1 ? `${[...counts][0]} processes each, one after another` : 'several processes each';
  return ` (${[...several.keys()].map((s) => `\`${s}\``).join(', ')} in ${each})`;
}

export function renderSection(r: RunJson): string {
  const m = r.machine;
  const load = r.loadDuringRun;
  const loadText = load
    ? `1-minute load ${load.min.toFixed(1)}–${load.max.toFixed(1)} during the run (mean ${load.mean.toFixed(1)})`
    : `load ${m.loadavg.map((l) => l.toFixed(1)).join(' ')} at the end`;
  const gauge = r.hostGauge ? formatGaugeRange(r.hostGauge.readings) : undefined;
  const gaugeText = gauge
    ? `, a raw MessagePort round trip on one CPU ${gauge} (the host gauge, taken before each suite and at the end: what the host gave, which the load does not show)`
    : '';
  const build = r.convoyBuild
    ? `convoy ${r.convoyBuild.flavor === 'dist' ? 'compiled (dist/)' : 'from source (tsx)'}${r.convoyBuild.revision ? ` at ${r.convoyBuild.revision}` : ''}`
    : 'convoy (build not recorded)';
  const cpu = m.cpuFamily === undefined ? m.cpuModel : `${m.cpuModel} (family ${m.cpuFamily}, model ${m.cpuModelNumber})`;
  const out: string[] = [
    `Measured ${r.date.slice(0, 10)} on ${m.cpuCount} × ${cpu}, Node ${m.node}, ${loadText}${gaugeText}; ${build}` +
      `${r.quick ? ', **quick run** (short windows; not for quoting)' : ''}${r.only.length ? `, only ${r.only.join(', ')}` : ''}` +
      `${r.minutes ? `, ${r.minutes.toFixed(1)} min` : ''}` +
      `${r.suitesIn === 'a process each' ? `, each suite in a Node process of its own${opensNote(r)}` : r.suitesIn === 'one process' ? ', every suite in one process (`--same-process`)' : ''}` +
      '. Every target is judged on the median of per-pair ratios of ' +
      'interleaved windows (subject and baseline alive side by side, alternating), so the drift of a minute hits both ' +
      'alike; absolute figures move with the load, and so do ratios whose arms load the two CPUs differently ' +
      '(docs/benchmarks.md). Regenerate: `npm run bench`, then `node --import tsx bench/readme-table.ts`.',
    '',
  ];
  for (const part of r.partRuns ?? []) {
    const l = part.loadDuringRun;
    out.push(
      `Suite${part.suites.length > 1 ? 's' : ''} ${part.suites.map((s) => `\`${s}\``).join(', ')}: from a later run (\`--only\`, merged with ` +
        `\`bench/merge-results.ts\`) on ${part.date.slice(0, 10)}${part.revision ? ` at ${part.revision}` : ''}` +
        `${l ? `, load ${l.min.toFixed(1)}–${l.max.toFixed(1)} (mean ${l.mean.toFixed(1)})` : ''}${part.minutes ? `, ${part.minutes.toFixed(1)} min` : ''}.`,
      '',
    );
  }
  const targets = r.targets ?? [];
  if (targets.length) {
    out.push(`**Targets**: ${summaryLine(targets)}.`, '');
    out.push('| target | median | pairs: q1 – q3 (min – max) | verdict | medians |', '| --- | ---: | ---: | --- | --- |');
    for (const t of targets) out.push(row(targetCells(t)));
    out.push('');
  }
  if (r.comparisons?.length) {
    out.push(
      '| subject | median (min – max) | baseline: median (min – max) | ratio | ratio q1 – q3 (min – max) |',
      '| --- | ---: | --- | ---: | ---: |',
    );
    for (const x of comparisonRows(r.comparisons)) out.push(x.group ? `| **${esc(x.group)}** | | | | |` : row(x.cells!));
    out.push('');
  }
  if (r.scenarios.length) {
    out.push(`Sequential figures (no target; 1 warm-up + ${r.repetitions} repetitions each):`, '');
    out.push('| scenario | median | min – max | × baseline (> 1 = better) |', '| --- | ---: | ---: | --- |');
    let group: string | undefined;
    for (const s of r.scenarios) {
      if (s.group !== group) out.push(`| **${esc((group = s.group))}** | | | |`);
      if (s.error) {
        out.push(row([s.name, `FAILED: ${s.error}`, '', '']));
        continue;
      }
      for (const [metric, st] of Object.entries(s.metrics)) {
        const ratio = st.timesBetter === undefined ? '' : `${st.timesBetter.toFixed(2)}× ${s.baseline}`;
        out.push(
          row([
            metric === 'value' ? s.name : `${s.name} ${metric}`,
            `${fmt(st.median, s.unit)} ${s.unit}`,
            `${fmt(st.min, s.unit)} – ${fmt(st.max, s.unit)}`,
            ratio,
          ]),
        );
      }
    }
  }
  return out.join('\n').trimEnd();
}

const record = JSON.parse(await readFile(resultsFile, 'utf8')) as RunJson;
const section = renderSection(record);

if (args.print) {
  console.log(section);
} else {
  let readme: string | undefined;
  try {
    readme = await readFile(readmeFile, 'utf8');
  } catch {
    readme = undefined;
  }
  const start = readme?.indexOf(START) ?? -1;
  const end = readme?.indexOf(END) ?? -1;
  if (readme === undefined || start < 0 || end < start) {
    console.log(section);
    console.error(
      `\n${readmeFile} ${readme === undefined ? 'does not exist' : `has no ${START} … ${END} markers`}: the table above was not written. ` +
        'Add the two markers where the table belongs and run this again.',
    );
    process.exitCode = 1;
  } else {
    const next = `${readme.slice(0, start + START.length)}\n${section}\n${readme.slice(end)}`;
    await writeFile(readmeFile, next);
    // The project's formatter aligns the tables, as `npm run lint` expects them.
    execFileSync(process.execPath, [fileURLToPath(import.meta.resolve('@biomejs/biome/bin/biome')), 'format', '--write', readmeFile], {
      stdio: 'inherit',
    });
    console.log(`updated the benchmark table in ${readmeFile} from ${resultsFile}`);
  }
}
