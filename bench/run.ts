// `npm run bench [-- --quick] [--only <substring>]... [--json <file>]`: runs the baselines, then convoy's
// scenarios, prints the table and writes every repetition to bench/results/latest.json (or --json <file>).

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { baselines } from './baselines/index.js';
import { runScenario, type Outcome, type Scenario } from './harness.js';
import { formatTable, toJson, type RunInfo } from './report.js';
import { convoyBuild, scenarios } from './scenarios/index.js';
import { TARGETS, checkTargets, formatTargets } from './targets.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string', multiple: true, default: [] },
    json: { type: 'string' },
  },
});

const all: Scenario[] = [...baselines, ...scenarios];
const names = new Set<string>();
for (const s of all) {
  if (names.has(s.name)) throw new Error(`two scenarios are named ${s.name}`);
  names.add(s.name);
}
for (const s of all) {
  if (s.baseline !== undefined && !names.has(s.baseline)) throw new Error(`${s.name}: no baseline scenario named ${s.baseline}`);
}

// --only keeps the scenarios whose name contains one of the substrings, plus the baselines they name.
const only = args.only;
const picked = new Set(all.filter((s) => only.length === 0 || only.some((o) => s.name.includes(o))).map((s) => s.name));
for (const s of all) if (picked.has(s.name) && s.baseline !== undefined) picked.add(s.baseline);
// ... and the baselines of the targets whose convoy scenario is kept (comlink for thread↔thread, ...).
for (const t of TARGETS) if (t.versus && picked.has(t.subject.scenario)) picked.add(t.versus.scenario);
const chosen = all.filter((s) => picked.has(s.name));

const info: RunInfo = { quick: args.quick, repetitions: args.quick ? 3 : 5, only };
const date = new Date();
const outcomes: Outcome[] = [];
for (const s of chosen) {
  const o = await runScenario(s, { ...info, stepTimeoutMs: 60_000 });
  outcomes.push(o);
  process.stderr.write(`${o.error ? 'FAILED' : 'done  '} ${s.name} (${o.seconds.toFixed(1)} s)${o.error ? `: ${o.error}` : ''}\n`);
}

console.log(`\n${formatTable(outcomes, info, date)}`);

const record = toJson(outcomes, info, date);
const targets = checkTargets(record);
console.log(`\n${formatTargets(targets)}`);

const out = args.json ?? fileURLToPath(new URL('./results/latest.json', import.meta.url));
await mkdir(path.dirname(path.resolve(out)), { recursive: true });
await writeFile(out, `${JSON.stringify({ ...record, convoyBuild, targets }, null, 2)}\n`);
console.log(`\nwrote ${path.resolve(out)}`);

if (outcomes.some((o) => o.error)) process.exitCode = 1;

// Every scenario ends what it started, so the process exits by itself; if something leaked, say what and
// exit anyway rather than hang (the timer is unref'd: it fires only if something else keeps us alive).
setTimeout(() => {
  console.error(`bench: still alive 5 s after the last scenario; leaked: ${process.getActiveResourcesInfo().join(', ')}`);
  process.exit(1);
}, 5_000).unref();
