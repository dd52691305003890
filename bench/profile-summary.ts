// Self time by function in a V8 .cpuprofile (from `node --cpu-prof`, or written by bench/profile-calls.ts).
//   node --import tsx bench/profile-summary.ts <file.cpuprofile> [--top 25]
// Prints the top functions overall, then the top ones in convoy's own code (src/, or dist/ mapped back to it), with
// their share of all samples. Functions are keyed by name + file + line, so two closures stay apart.

import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { SourceMap } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface Row {
  name: string;
  where: string;
  selfMs: number;
  share: number;
  convoy: boolean;
}

const maps = new Map<string, SourceMap | undefined>();

/** dist/src/x.js or dist/bundle/x.js:line → src/x.ts:line through the build's source map (lines 0-based in and out). */
function original(file: string, line: number, column: number): { file: string; line: number } | undefined {
  if (!/\/dist\/(src|bundle)\/.*\.js$/.test(file)) return undefined;
  if (!maps.has(file)) {
    const mapFile = `${file}.map`;
    maps.set(file, existsSync(mapFile) ? new SourceMap(JSON.parse(readFileSync(mapFile, 'utf8'))) : undefined);
  }
  const entry = maps.get(file)?.findEntry(line, column) as { originalSource?: string; originalLine?: number } | undefined;
  if (!entry?.originalSource) return undefined;
  return { file: path.resolve(path.dirname(file), entry.originalSource), line: entry.originalLine! };
}

/** Shortens a profile URL to a repo-relative path; compiled dist/ lines are shown as src/x.ts lines. */
function where(url: string, line: number, column = 0): string {
  if (!url) return '(native)';
  let file = url.startsWith('file://') ? fileURLToPath(url) : url;
  const mapped = original(file, line, column);
  if (mapped) ({ file, line } = mapped);
  const repo = file.indexOf('/work/main/');
  const nm = file.lastIndexOf('/node_modules/');
  if (nm >= 0) file = file.slice(nm + '/node_modules/'.length);
  else if (repo >= 0) file = file.slice(repo + '/work/main/'.length);
  return `${file}:${line + 1}`;
}

export function summarize(profile: Profile): Row[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0) || 1;
  const rows = new Map<string, Row>();
  for (const [id, us] of self) {
    const { callFrame: f } = byId.get(id)!;
    const name = f.functionName || '(anonymous)';
    const loc = where(f.url, f.lineNumber, f.columnNumber);
    const key = `${name} ${loc}`;
    let row = rows.get(key);
    if (!row) {
      // The bench runs the bundle (dist/bundle/): its lines map back to src/ as dist/src/'s do.
      const convoy = loc.startsWith('src/');
      rows.set(key, (row = { name, where: loc, selfMs: 0, share: 0, convoy }));
    }
    row.selfMs += us / 1000;
  }
  for (const row of rows.values()) row.share = (row.selfMs * 1000) / total;
  return [...rows.values()].sort((a, b) => b.selfMs - a.selfMs);
}

export function formatRows(rows: Row[], top: number, title: string): string {
  const lines = [title, `${'self %'.padStart(7)}  ${'self ms'.padStart(8)}  function  (file:line)`];
  for (const r of rows.slice(0, top)) {
    lines.push(`${(r.share * 100).toFixed(1).padStart(6)}%  ${r.selfMs.toFixed(1).padStart(8)}  ${r.name}  (${r.where})`);
  }
  return lines.join('\n');
}

export function report(profile: Profile, top: number, label: string): string {
  const rows = summarize(profile);
  const convoyShare = rows.filter((r) => r.convoy).reduce((a, r) => a + r.share, 0);
  return [
    formatRows(rows, top, `── ${label}: top ${top} by self time, all code`),
    '',
    formatRows(
      rows.filter((r) => r.convoy),
      top,
      `── ${label}: top ${top} in convoy's code (src/); convoy's own functions hold ${(convoyShare * 100).toFixed(1)}% of self time`,
    ),
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
  for (const file of positionals) {
    const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;
    console.log(`${report(profile, Number(values.top), file)}\n`);
  }
}
