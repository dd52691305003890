// `node --import tsx bench/merge-results.ts <run.json> <later.json> [--out <file>]`
// Puts the suites a later run measured (`npm run bench -- --only <suite> --json later.json`) into a full
// run's record in place of the same suites' results, for a README table after a change that touched only
// those suites. The record keeps saying which suites came from which run: `partRuns` lists the later
// run's suites, date, build and load, and the README header names them. Targets are judged again from the
// merged comparisons. Writes to `--out` (default: <run.json> itself).
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { ComparisonResult } from './interleave.js';
import { collectTargets } from './targets.js';

interface Load {
  start: number;
  end: number;
  min: number;
  max: number;
  mean: number;
}

export interface PartRun {
  suites: string[];
  date: string;
  minutes?: number;
  revision?: string;
  loadDuringRun?: Load;
}

interface RunRecord {
  date: string;
  minutes?: number;
  loadDuringRun?: Load;
  convoyBuild?: { revision?: string };
  comparisons?: ComparisonResult[];
  targets?: unknown[];
  partRuns?: PartRun[];
  [key: string]: unknown;
}

/** `base` with `later`'s suites in place of its own results for them (new suites appended), targets judged again. */
export function mergeRuns(base: RunRecord, later: RunRecord): RunRecord {
  const laterResults = later.comparisons ?? [];
  const suites = [...new Set(laterResults.map((r) => r.suite))];
  if (suites.length === 0) throw new Error('The later run has no interleaved results to merge');
  const kept = (base.comparisons ?? []).filter((r) => !suites.includes(r.suite));
  // In the base run's suite order: each replaced suite where it stood, new ones at the end.
  const order = [...new Set((base.comparisons ?? []).map((r) => r.suite))];
  const comparisons = [...kept, ...laterResults].sort((a, b) => rank(order, a.suite) - rank(order, b.suite));
  const part: PartRun = {
    suites,
    date: later.date,
    ...(later.minutes === undefined ? {} : { minutes: later.minutes }),
    ...(later.convoyBuild?.revision ? { revision: later.convoyBuild.revision } : {}),
    ...(later.loadDuringRun ? { loadDuringRun: later.loadDuringRun } : {}),
  };
  const partRuns = [...(base.partRuns ?? []).filter((p) => !p.suites.every((s) => suites.includes(s))), part];
  return { ...base, comparisons, targets: collectTargets(comparisons), partRuns };
}

function rank(order: string[], suite: string): number {
  const i = order.indexOf(suite);
  return i < 0 ? order.length : i;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { out: { type: 'string' } } });
  if (positionals.length !== 2) throw new Error('usage: merge-results.ts <run.json> <later.json> [--out <file>]');
  const [baseFile, laterFile] = positionals as [string, string];
  const read = async (file: string) => JSON.parse(await readFile(file, 'utf8')) as RunRecord;
  const merged = mergeRuns(await read(baseFile), await read(laterFile));
  const out = values.out ?? baseFile;
  await writeFile(out, `${JSON.stringify(merged, null, 2)}\n`);
  console.log(`wrote ${out}: ${merged.partRuns!.at(-1)!.suites.join(', ')} from ${laterFile}`);
}
