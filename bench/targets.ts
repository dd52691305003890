// The performance targets of issue 5, checked against one run's JSON record (so the stdout table and
// bench/readme-table.ts agree). A target compares a convoy figure with a baseline of the same run
// (a ratio of medians) or with an absolute bound.

export interface MetricStat {
  median: number;
  min: number;
  max: number;
}

/** The part of the JSON record (report.ts `toJson`) the targets read. */
export interface RunRecord {
  scenarios: { name: string; unit: string; metrics: Record<string, MetricStat>; error?: string }[];
}

interface Ref {
  scenario: string;
  /** `value` for single-figure scenarios. */
  metric?: string;
}

export interface Target {
  readonly what: string;
  readonly subject: Ref;
  /** Compared with subject / versus (medians); without it, the subject's median itself. */
  readonly versus?: Ref;
  readonly op: '>=' | '<=';
  readonly bound: number;
}

export interface TargetResult {
  what: string;
  /** The ratio, or the median itself for absolute targets. */
  actual?: number;
  /** e.g. `>= 10×` or `<= 50 ms`. */
  required: string;
  met?: boolean;
  /** How far from the bound, as a factor (> 1 met with room, < 1 missed): actual/bound for >=, bound/actual for <=. */
  margin?: number;
  /** Why it could not be checked (a scenario missing, failed, or left out by --only). */
  missing?: string;
  detail: string;
}

const pipe = (s: string): Ref => ({ scenario: s });
const p50 = (s: string): Ref => ({ scenario: s, metric: 'p50' });

const ratio = (what: string, subject: Ref, versus: Ref, op: '>=' | '<=', bound: number): Target => ({ what, subject, versus, op, bound });

export const TARGETS: Target[] = [
  ratio('thread↔thread pipelined ≥ 10× comlink', pipe('convoy/thread-thread/pipelined'), pipe('comlink/pipelined'), '>=', 10),
  ratio('thread↔thread pipelined ≥ 5× birpc', pipe('convoy/thread-thread/pipelined'), pipe('birpc/pipelined'), '>=', 5),
  ratio('coord↔thread pipelined ≥ 10× comlink', pipe('convoy/coord-thread/pipelined'), pipe('comlink/pipelined'), '>=', 10),
  ratio('coord↔thread pipelined ≥ 5× birpc', pipe('convoy/coord-thread/pipelined'), pipe('birpc/pipelined'), '>=', 5),
  ratio('thread↔thread one at a time p50 ≤ 1.3× raw port', p50('convoy/thread-thread/rtt'), p50('port/pingpong/rtt'), '<=', 1.3),
  ratio('coord↔thread one at a time p50 ≤ 1.3× raw port', p50('convoy/coord-thread/rtt'), p50('port/pingpong/rtt'), '<=', 1.3),
  ratio(
    'process↔process pipelined ≥ 0.7× raw batched TCP',
    pipe('convoy/process-process/pipelined'),
    pipe('tcp/batch-msgpackr/pipelined'),
    '>=',
    0.7,
  ),
  ratio(
    'coord↔process pipelined ≥ 0.7× raw batched TCP',
    pipe('convoy/coord-process/pipelined'),
    pipe('tcp/batch-msgpackr/pipelined'),
    '>=',
    0.7,
  ),
  ratio('process↔process one at a time p50 ≤ 1.3× raw TCP', p50('convoy/process-process/rtt'), p50('tcp/pingpong/rtt'), '<=', 1.3),
  ratio('coord↔process one at a time p50 ≤ 1.3× raw TCP', p50('convoy/coord-process/rtt'), p50('tcp/pingpong/rtt'), '<=', 1.3),
  ...['coord-thread', 'thread-thread', 'coord-process', 'process-process'].map((p) =>
    ratio(`${p} notify ≥ 2× its pipelined calls`, pipe(`convoy/${p}/notify`), pipe(`convoy/${p}/pipelined`), '>=', 2),
  ),
  ...['thread-kill', 'process-kill', 'process-sigkill', 'peer-thread-kill', 'peer-process-sigkill'].map(
    (d): Target => ({ what: `death ${d}: in-flight calls rejected ≤ 50 ms`, subject: pipe(`convoy/death/${d}`), op: '<=', bound: 50 }),
  ),
];

function lookup(record: RunRecord, ref: Ref): { stat?: MetricStat; unit?: string; missing?: string } {
  const s = record.scenarios.find((x) => x.name === ref.scenario);
  if (!s) return { missing: `${ref.scenario} not run` };
  if (s.error) return { missing: `${ref.scenario} failed` };
  const stat = s.metrics[ref.metric ?? 'value'];
  return stat ? { stat, unit: s.unit } : { missing: `${ref.scenario} has no ${ref.metric ?? 'value'}` };
}

const num = (v: number): string => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));

export function checkTargets(record: RunRecord): TargetResult[] {
  return TARGETS.map((t) => {
    const unitOf = (u: string | undefined) => (t.versus ? '×' : ` ${u ?? ''}`);
    const s = lookup(record, t.subject);
    const v = t.versus ? lookup(record, t.versus) : undefined;
    const required = `${t.op === '>=' ? '≥' : '≤'} ${t.bound}${unitOf(s.unit)}`;
    const missing = s.missing ?? v?.missing;
    if (missing || !s.stat || (t.versus && !v?.stat)) return { what: t.what, required, missing: missing ?? 'no data', detail: '' };
    const actual = v?.stat ? s.stat.median / v.stat.median : s.stat.median;
    const met = t.op === '>=' ? actual >= t.bound : actual <= t.bound;
    const margin = t.op === '>=' ? actual / t.bound : t.bound / actual;
    const detail = v?.stat
      ? `${num(s.stat.median)} vs ${num(v.stat.median)} ${s.unit}`
      : `median ${num(s.stat.median)} ${s.unit}, max ${num(s.stat.max)}`;
    return { what: t.what, actual, required, met, margin, detail };
  });
}

/** `met, 2.3× the bound` / `MISSED, 35% short`. */
export function verdict(r: TargetResult): string {
  if (r.missing) return `not checked (${r.missing})`;
  const m = r.margin!;
  if (r.met) return m >= 1.995 ? `met, ${m.toFixed(1)}× the bound` : `met, ${((m - 1) * 100).toFixed(0)}% to spare`;
  return m <= 0.5 ? `MISSED, ${(1 / m).toFixed(1)}× off` : `MISSED by ${((1 / m - 1) * 100).toFixed(0)}%`;
}

export function formatTargets(results: readonly TargetResult[]): string {
  const rows = [['target', 'actual', 'verdict', 'figures (medians)']];
  for (const r of results) {
    const actual = r.actual === undefined ? '–' : r.detail.includes(' vs ') ? `${num(r.actual)}×` : num(r.actual);
    rows.push([r.what, actual, verdict(r), r.detail]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const met = results.filter((r) => r.met).length;
  const checked = results.filter((r) => !r.missing).length;
  return [
    `targets (issue 5): ${met} of ${checked} checked met${checked < results.length ? `, ${results.length - checked} not checked` : ''}`,
    ...rows.map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    ),
  ].join('\n');
}
