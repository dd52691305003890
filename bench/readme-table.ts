// `node --import tsx bench/readme-table.ts [results.json] [--readme README.md] [--print]`
// Regenerates the benchmark section of the project README from a bench run's JSON record
// (bench/results/latest.json by default): only the text between `<!-- bench:start -->` and
// `<!-- bench:end -->` is replaced. Without those markers the README is left alone and the table is
// printed, with a note. `--print` only prints.
//
// The section: the run's machine and settings, the targets of issue 5 (met / missed and by how much), and
// one table of convoy's scenarios plus the baselines they are compared with (median, min – max, ratio).

import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { TARGETS, checkTargets, verdict, type MetricStat, type TargetResult } from './targets.js';

const START = '<!-- bench:start -->';
const END = '<!-- bench:end -->';

interface Scenario {
  name: string;
  group: string;
  unit: string;
  higherIsBetter: boolean;
  baseline?: string;
  metrics: Record<string, MetricStat & { timesBetter?: number }>;
  error?: string;
}

interface RunJson {
  date: string;
  quick: boolean;
  repetitions: number;
  only: string[];
  machine: { cpuModel: string; cpuCount: number; node: string; loadavg: number[] };
  convoyBuild?: { flavor: string; note: string; revision?: string };
  scenarios: Scenario[];
  targets?: TargetResult[];
}

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { readme: { type: 'string' }, print: { type: 'boolean', default: false } },
});

const here = path.dirname(fileURLToPath(import.meta.url));
const resultsFile = path.resolve(positionals[0] ?? path.join(here, 'results/latest.json'));
const readmeFile = path.resolve(args.readme ?? path.join(here, '../README.md'));

function fmt(v: number, unit: string): string {
  if (unit === 'calls/s') {
    if (v >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
    if (v >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
    return v.toFixed(0);
  }
  if (unit === 'MB') return v.toFixed(2);
  return v >= 100 ? v.toFixed(0) : v.toFixed(1);
}

const esc = (s: string): string => s.replace(/\|/g, '\\|');

export function renderSection(r: RunJson): string {
  const m = r.machine;
  const out: string[] = [];
  out.push(
    `Measured ${r.date.slice(0, 10)} on ${m.cpuCount} × ${m.cpuModel}, Node ${m.node}, load ${m.loadavg.map((l) => l.toFixed(1)).join(' ')} ` +
      `(a shared machine: absolute figures move ±25% between runs, ratios less), ` +
      `${r.quick ? '**quick run** (shorter repetitions; not for quoting), ' : ''}1 warm-up + ${r.repetitions} repetitions per scenario, ` +
      `convoy ${r.convoyBuild?.flavor === 'dist' ? 'compiled (dist/)' : r.convoyBuild ? 'from source (tsx)' : '(build not recorded)'}` +
      `${r.convoyBuild?.revision ? ` at ${r.convoyBuild.revision}` : ''}` +
      `${r.only.length ? `, only ${r.only.join(', ')}` : ''}. Regenerate: \`npm run bench\`, then \`node --import tsx bench/readme-table.ts\`.`,
  );
  out.push('');
  const targets = r.targets ?? checkTargets(r);
  out.push(`**Targets** (${targets.filter((t) => t.met).length} of ${targets.filter((t) => !t.missing).length} met):`);
  out.push('');
  out.push('| target | actual | verdict | medians |');
  out.push('| --- | --- | --- | --- |');
  for (const t of targets) {
    const actual = t.actual === undefined ? '–' : t.detail.includes(' vs ') ? `${t.actual.toFixed(2)}×` : t.actual.toFixed(1);
    out.push(`| ${esc(t.what)} | ${actual} | ${verdict(t)} | ${esc(t.detail)} |`);
  }
  out.push('');
  // convoy's scenarios, and the baselines any of them (or a target) is compared with.
  const convoy = r.scenarios.filter((s) => s.name.startsWith('convoy/'));
  const referenced = new Set<string>([
    ...convoy.flatMap((s) => (s.baseline ? [s.baseline] : [])),
    ...TARGETS.flatMap((t) => (t.versus ? [t.versus.scenario] : [])),
  ]);
  // ... and the baselines those are compared with, so every ratio names a row of the table.
  for (let more = true; more; ) {
    more = false;
    for (const s of r.scenarios) {
      if (referenced.has(s.name) && s.baseline && !referenced.has(s.baseline)) {
        referenced.add(s.baseline);
        more = true;
      }
    }
  }
  const shown = r.scenarios.filter((s) => s.name.startsWith('convoy/') || referenced.has(s.name));
  out.push('| scenario | median | min – max | × baseline (> 1 = better) |');
  out.push('| --- | ---: | ---: | --- |');
  let group: string | undefined;
  for (const s of shown) {
    if (s.group !== group) {
      group = s.group;
      out.push(`| **${esc(group)}** | | | |`);
    }
    if (s.error) {
      out.push(`| ${s.name} | FAILED: ${esc(s.error)} | | |`);
      continue;
    }
    for (const [metric, st] of Object.entries(s.metrics)) {
      const label = metric === 'value' ? s.name : `${s.name} ${metric}`;
      const ratio = st.timesBetter === undefined ? '' : `${st.timesBetter.toFixed(2)}× ${s.baseline}`;
      out.push(`| ${label} | ${fmt(st.median, s.unit)} ${s.unit} | ${fmt(st.min, s.unit)} – ${fmt(st.max, s.unit)} | ${ratio} |`);
    }
  }
  return out.join('\n');
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
    console.log(`updated the benchmark table in ${readmeFile} from ${resultsFile}`);
  }
}
