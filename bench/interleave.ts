// Interleaved comparisons: a subject and its baseline, both alive side by side in this process, measured in
// alternating short windows (subject, baseline, then baseline, subject, …). The ratio is taken per pair of
// windows, so a drift in the machine's load hits both sides of a pair alike, and a target is judged on the
// median of those per-pair ratios, with their spread (min–max) shown. This is how every target is checked.

import type { RunOptions, Sample, Unit } from './harness.js';
import { judge, type TargetResult, type TargetSpec } from './targets.js';
import { pinToOneCpu } from './pin.js';

/** One side of a comparison: something that can be measured for one short window. */
export interface Arm {
  /** e.g. `convoy/coord-thread/rtt`, `port/clone/rtt`: a row of the table. */
  readonly name: string;
  readonly unit: Unit;
  window(): Promise<Sample>;
}

export interface Comparison {
  readonly subject: Arm;
  /** Absent: the subject's windows alone (absolute targets, rows with no floor). */
  readonly baseline?: Arm;
  readonly targets?: readonly TargetSpec[];
  /** Window pairs; default `defaultPairs(opts)`. */
  readonly pairs?: number;
  /** Unmeasured windows of each arm before the first pair; default 1. */
  readonly warmWindows?: number;
  /** Runs the windows with the whole process tree pinned to one CPU (pin.ts says why). */
  readonly oneCpu?: boolean;
}

/** A set of comparisons sharing their setup (a cluster, raw callees), opened once, all arms alive together. */
export interface Suite {
  /** `--only` matches a substring of it. */
  readonly name: string;
  /** Heading of its rows in the table. */
  readonly group: string;
  open(opts: RunOptions): Promise<{ comparisons: Comparison[]; close(): Promise<void> }>;
  /**
   * Opened this many times (default 1), each in a process of its own, one after another; each open runs
   * its share of every comparison's pairs, and the targets are judged on the pairs of all of them
   * (opens.ts says why).
   */
  readonly opens?: number;
}

/**
 * Many short windows rather than few long ones: a pair's two windows then lie close together in time, and
 * a burst of someone else's load spoils one pair out of many instead of a large share of a few.
 */
export const defaultPairs = (opts: RunOptions): number => (opts.quick ? 9 : 21);

export interface Spread {
  median: number;
  min: number;
  max: number;
  /** The 25th and 75th percentiles (nearest rank): the middle half of the values lies between them. */
  q1: number;
  q3: number;
}

export interface MetricResult {
  subject: Spread;
  baseline?: Spread;
  /** subject / baseline per pair. */
  ratio?: Spread;
}

export interface ComparisonResult {
  suite: string;
  group: string;
  subject: string;
  baseline?: string;
  unit: Unit;
  pairs: number;
  /** The windows ran with the process tree pinned to one CPU. */
  oneCpu?: boolean;
  metrics: Record<string, MetricResult>;
  /** The suite was opened this many times (Suite.opens) and `windows` holds the pairs of them all. */
  opens?: number;
  /** Per metric, the median ratio each open read on its own. */
  perOpen?: Record<string, number[]>;
  /** Every window, in order: `[subject, baseline]` per pair. */
  windows: { subject: Sample; baseline?: Sample }[];
  targets: TargetResult[];
  /** What `targets` were judged against, to judge them again on merged opens. */
  specs?: readonly TargetSpec[];
  seconds: number;
  error?: string;
  /** The baseline measured alone (up to 3 windows) when the subject failed. */
  baselineAlone?: Record<string, Spread>;
}

const metricsOf = (s: Sample): [string, number][] => (typeof s === 'number' ? [['value', s]] : Object.entries(s));

export function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const rank = (q: number) => sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, q1: rank(0.25), q3: rank(0.75) };
}

/**
 * Rounds of one window of each of `fns`, after `warm` unmeasured rounds; round r starts with fns[r mod n]
 * and goes round in order, so every function goes first equally often (two functions: they alternate).
 * Resolves each round's results in the order of `fns`.
 */
export async function rotate<T>(fns: readonly (() => Promise<T>)[], rounds: number, warm = 1): Promise<T[][]> {
  for (let i = 0; i < warm; i++) for (const fn of fns) await fn();
  const out: T[][] = [];
  for (let r = 0; r < rounds; r++) {
    const got: T[] = new Array(fns.length);
    for (let k = 0; k < fns.length; k++) {
      const i = (r + k) % fns.length;
      got[i] = await fns[i]!();
    }
    out.push(got);
  }
  return out;
}

/** Alternating pairs of windows of `a` and `b` (a first in even pairs): `rotate` of two. */
export async function alternate<T>(a: () => Promise<T>, b: () => Promise<T>, pairs: number, warm = 1): Promise<[T, T][]> {
  return (await rotate([a, b], pairs, warm)) as [T, T][];
}

/** Runs one comparison; a window that throws (or outlasts `windowTimeoutMs`) fails the comparison, not the run. */
export async function runComparison(
  c: Comparison,
  ctx: { suite: string; group: string; opts: RunOptions; windowTimeoutMs: number },
): Promise<ComparisonResult> {
  const started = performance.now();
  // An open of several shares the pairs out (Suite.opens).
  const pairs = Math.ceil((c.pairs ?? defaultPairs(ctx.opts)) / (ctx.opts.opens ?? 1));
  const bounded = (arm: Arm) => () => withTimeout(arm.window(), ctx.windowTimeoutMs, `${arm.name}: a window`);
  const base: Omit<ComparisonResult, 'metrics' | 'windows' | 'targets' | 'seconds'> = {
    suite: ctx.suite,
    group: ctx.group,
    subject: c.subject.name,
    unit: c.subject.unit,
    pairs,
    ...(c.baseline ? { baseline: c.baseline.name } : {}),
    ...(c.oneCpu ? { oneCpu: true } : {}),
  };
  let windows: { subject: Sample; baseline?: Sample }[] = [];
  let error: string | undefined;
  let subjectFailed = false;
  const subject = bounded(c.subject);
  const subjectWindow = () =>
    subject().catch((e: unknown) => {
      subjectFailed = true;
      throw e;
    });
  let unpin: (() => void) | undefined;
  try {
    if (c.oneCpu) unpin = pinToOneCpu();
    if (c.baseline) {
      const got = await alternate(subjectWindow, bounded(c.baseline), pairs, c.warmWindows ?? 1);
      windows = got.map(([subject, baseline]) => ({ subject, baseline }));
    } else {
      const one = bounded(c.subject);
      for (let i = 0; i < (c.warmWindows ?? 1); i++) await one();
      for (let i = 0; i < pairs; i++) windows.push({ subject: await one() });
    }
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
  } finally {
    unpin?.();
  }
  const metrics = error ? {} : summarizeWindows(windows);
  const targets = (c.targets ?? []).map((t) => judge(t, metrics, c.subject.unit, error));
  // When the subject fails (a start that does not start), the baseline is still worth its figures.
  // A few windows suffice for a figure with no ratio to judge (a 128-process floor costs a minute a window at load).
  const baselineAlone = error && subjectFailed && c.baseline ? await measureAlone(bounded(c.baseline), Math.min(pairs, 3)) : undefined;
  return {
    ...base,
    metrics,
    windows,
    targets,
    specs: c.targets ?? [],
    seconds: (performance.now() - started) / 1000,
    ...(error ? { error } : {}),
    ...(baselineAlone ? { baselineAlone } : {}),
  };
}

async function measureAlone(window: () => Promise<Sample>, count: number): Promise<Record<string, Spread> | undefined> {
  const samples: Sample[] = [];
  try {
    for (let i = 0; i < count; i++) samples.push(await window());
  } catch {
    // figures of the windows that worked are still figures
  }
  if (samples.length === 0) return undefined;
  const metrics = summarizeWindows(samples.map((subject) => ({ subject })));
  return Object.fromEntries(Object.entries(metrics).map(([k, m]) => [k, m.subject]));
}

/** Per metric (any window may lack one: a figure that could not be taken that time), subject, baseline, ratio. */
export function summarizeWindows(windows: readonly { subject: Sample; baseline?: Sample }[]): Record<string, MetricResult> {
  const out: Record<string, MetricResult> = {};
  const names = new Set(windows.flatMap((w) => metricsOf(w.subject).map(([k]) => k)));
  for (const metric of names) {
    const pick = (s: Sample | undefined): number | undefined =>
      s === undefined ? undefined : metricsOf(s).find(([k]) => k === metric)?.[1];
    const subj = windows.flatMap((w) => (pick(w.subject) === undefined ? [] : [pick(w.subject)!]));
    const base = windows.flatMap((w) => (pick(w.baseline) === undefined ? [] : [pick(w.baseline)!]));
    const ratios = windows.flatMap((w) => {
      const x = pick(w.subject);
      const y = pick(w.baseline);
      return x === undefined || y === undefined ? [] : [x / y];
    });
    out[metric] = {
      subject: spread(subj),
      ...(base.length ? { baseline: spread(base) } : {}),
      ...(ratios.length ? { ratio: spread(ratios) } : {}),
    };
  }
  return out;
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** The one result of a suite that could not run (or not to its end): no figures, no targets, `error`. */
export function failedSuite(suite: Suite, seconds: number, error: string): ComparisonResult {
  return {
    suite: suite.name,
    group: suite.group,
    subject: suite.name,
    unit: 'ms',
    pairs: 0,
    metrics: {},
    windows: [],
    targets: [],
    seconds,
    error,
  };
}

/** Opens a suite, runs its comparisons in order, closes it; a suite that fails to open yields one failed result. */
export async function runSuite(
  suite: Suite,
  opts: RunOptions,
  bounds: { openTimeoutMs: number; windowTimeoutMs: number },
  onResult: (r: ComparisonResult) => void = () => {},
): Promise<ComparisonResult[]> {
  const started = performance.now();
  let opened: Awaited<ReturnType<Suite['open']>>;
  try {
    opened = await withTimeout(suite.open(opts), bounds.openTimeoutMs, `${suite.name}: open`);
  } catch (e) {
    const failed = failedSuite(suite, (performance.now() - started) / 1000, e instanceof Error ? e.message : String(e));
    onResult(failed);
    return [failed];
  }
  const out: ComparisonResult[] = [];
  try {
    for (const c of opened.comparisons) {
      const r = await runComparison(c, { suite: suite.name, group: suite.group, opts, windowTimeoutMs: bounds.windowTimeoutMs });
      out.push(r);
      onResult(r);
    }
  } finally {
    await withTimeout(opened.close(), bounds.openTimeoutMs, `${suite.name}: close`).catch((e) => {
      process.stderr.write(`${suite.name}: close failed: ${e instanceof Error ? e.message : String(e)}\n`);
    });
  }
  return out;
}
