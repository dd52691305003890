// `npm run bench [-- --quick] [--only <substring>]... [--skip <substring>]... [--json <file>] [--no-sequential]
// [--same-process]`; `--only nats` adds the suite across hosts over NATS, which needs `nats-server`.
// First the interleaved suites (every target is judged there: bench/suites/), each in a process of its own
// (suite-process.ts says why; `--same-process` runs them all in this one, as before), then the sequential
// scenarios (figures with no target: payloads, whole-mesh calls/s, heap), with a reading of the host gauge
// (host-gauge.ts) before each suite and at the end. Prints both tables and the
// targets, and writes every window and repetition to bench/results/latest.json (or --json <file>).

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { baselines } from './baselines/index.js';
import { formatGaugeRange, readGauge, type GaugeReading } from './host-gauge.js';
import { runScenario, type Outcome, type RunOptions, type Scenario } from './harness.js';
import { runSuite, type ComparisonResult } from './interleave.js';
import { runOpens } from './opens.js';
import { LoadWatch, formatComparisons, formatTable, machine, toJson, type RunInfo } from './report.js';
import { convoyBuild, scenarios } from './scenarios/index.js';
import { SUITE_BOUNDS, runSuiteInProcess } from './suite-process.js';
import { OPT_IN_SUITES, SUITES } from './suites/index.js';
import { collectTargets, formatTargets } from './targets.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string', multiple: true, default: [] },
    skip: { type: 'string', multiple: true, default: [] },
    json: { type: 'string' },
    'no-sequential': { type: 'boolean', default: false },
    'same-process': { type: 'boolean', default: false },
  },
});

const sequential: Scenario[] = args['no-sequential'] ? [] : [...baselines, ...scenarios];
const names = new Set<string>();
for (const s of sequential) {
  if (names.has(s.name)) throw new Error(`two scenarios are named ${s.name}`);
  names.add(s.name);
}
for (const s of sequential) {
  if (s.baseline !== undefined && !names.has(s.baseline)) throw new Error(`${s.name}: no baseline scenario named ${s.baseline}`);
}

// --only keeps the suites and scenarios whose name contains one of the substrings (plus the baselines
// those scenarios name).
const only = args.only;
// --skip leaves out the suites and scenarios whose name contains one of its substrings.
const keep = (name: string): boolean =>
  (only.length === 0 || only.some((o) => name.includes(o))) && !args.skip.some((s) => name.includes(s));
const suites = [...SUITES.filter((s) => keep(s.name)), ...OPT_IN_SUITES.filter((s) => only.length > 0 && keep(s.name))];
const picked = new Set(sequential.filter((s) => keep(s.name)).map((s) => s.name));
for (const s of sequential) if (picked.has(s.name) && s.baseline !== undefined) picked.add(s.baseline);
const chosen = sequential.filter((s) => picked.has(s.name));

const opts: RunOptions = { quick: args.quick };
const info: RunInfo = { quick: args.quick, repetitions: args.quick ? 3 : 5, only };
const date = new Date();
const load = new LoadWatch();
const started = performance.now();

const results: ComparisonResult[] = [];
const onResult = (r: ComparisonResult): void => {
  results.push(r);
  const ratio = Object.entries(r.metrics)
    .filter(([, m]) => m.ratio)
    .map(
      ([k, m]) =>
        `${k} ${m.ratio!.median.toFixed(2)}×${r.perOpen?.[k] ? ` (opens ${r.perOpen[k].map((v) => v.toFixed(2)).join(', ')})` : ''}`,
    )
    .join(', ');
  process.stderr.write(
    `${r.error ? 'FAILED' : 'done  '} ${r.subject}${r.baseline ? ` vs ${r.baseline}` : ''} (${r.seconds.toFixed(1)} s)` +
      `${r.error ? `: ${r.error}` : ratio ? `: ${ratio}` : ''}\n`,
  );
};
const gauge: GaugeReading[] = [];
const takeGauge = async (before: string): Promise<void> => {
  const reading = await readGauge(before);
  gauge.push(reading);
  process.stderr.write(
    `host gauge before ${before}: ${reading.p50 === undefined ? 'could not run' : `raw port round trip ${reading.p50.toFixed(1)} µs`}\n`,
  );
};
for (const suite of suites) {
  await takeGauge(suite.name);
  process.stderr.write(`suite ${suite.name}\n`);
  const progress = (line: string) => process.stderr.write(line);
  if (args['same-process']) await runOpens(suite, opts, (o, each) => runSuite(suite, o, SUITE_BOUNDS, each), onResult, progress);
  else await runSuiteInProcess(suite, opts, onResult, { progress });
}

const outcomes: Outcome[] = [];
if (chosen.length) await takeGauge('sequential');
for (const s of chosen) {
  const o = await runScenario(s, { ...info, stepTimeoutMs: 60_000 });
  outcomes.push(o);
  process.stderr.write(`${o.error ? 'FAILED' : 'done  '} ${s.name} (${o.seconds.toFixed(1)} s)${o.error ? `: ${o.error}` : ''}\n`);
}
await takeGauge('end');
const hostGauge = { what: 'p50 µs of a raw MessagePort round trip on one CPU (bench/host-gauge.ts)', readings: gauge };
const gaugeSpan = formatGaugeRange(gauge);
const loadDuringRun = load.stop();
const minutes = (performance.now() - started) / 60_000;

const m = machine();
console.log(
  `\nconvoy bench${info.quick ? ' · quick' : ''} · Node ${m.node} · ${m.cpuCount} × ${m.cpuModel} · ${date.toISOString()} · ` +
    `${minutes.toFixed(1)} min · load during the run ${loadDuringRun.min.toFixed(1)}–${loadDuringRun.max.toFixed(1)} ` +
    `(mean ${loadDuringRun.mean.toFixed(1)})` +
    `${gaugeSpan ? ` · raw port round trip on one CPU ${gaugeSpan} (host gauge)` : ''}` +
    ` · convoy ${convoyBuild.flavor} at ${convoyBuild.revision}`,
);
if (results.length) console.log(`\n${formatComparisons(results)}`);
if (outcomes.length) console.log(`\n${formatTable(outcomes, info, date)}`);
const targets = collectTargets(results);
if (targets.length) console.log(`\n${formatTargets(targets)}`);

const out = args.json ?? fileURLToPath(new URL('./results/latest.json', import.meta.url));
await mkdir(path.dirname(path.resolve(out)), { recursive: true });
const suitesIn = args['same-process'] ? 'one process' : 'a process each';
const record = { ...toJson(outcomes, info, date), minutes, loadDuringRun, hostGauge, convoyBuild, suitesIn, comparisons: results, targets };
await writeFile(out, `${JSON.stringify(record, null, 2)}\n`);
console.log(`\nwrote ${path.resolve(out)}`);

// A comparison that failed is a measured outcome (its targets say MISSED); a failure nothing judged is a broken bench.
if (outcomes.some((o) => o.error) || results.some((r) => r.error && r.targets.length === 0)) process.exitCode = 1;

// Every suite and scenario ends what it started, so the process exits by itself; if something leaked, say
// what and exit anyway rather than hang (the timer is unref'd: it fires only if something else keeps us alive).
setTimeout(() => {
  console.error(`bench: still alive 5 s after the last scenario; leaked: ${process.getActiveResourcesInfo().join(', ')}`);
  process.exit(1);
}, 5_000).unref();
