// The benchmark's judging machinery (bench/interleave.ts): window order, per-pair ratios, verdicts. No
// spawning: arms are functions returning scripted figures.
import test from 'ava';
import { alternate, rotate, runComparison, type Arm } from '../bench/interleave.js';
import { allowedCpus } from '../bench/pin.js';
import { type TargetResult, verdict } from '../bench/targets.js';

const ctx = { suite: 's', group: 'g', opts: { quick: true }, windowTimeoutMs: 1000 };

/** An arm that returns the next of `values` each window and logs its name. */
function scripted(name: string, values: number[], log: string[]): Arm {
  let i = 0;
  return {
    name,
    unit: 'µs',
    window: async () => {
      log.push(name);
      return values[i++]!;
    },
  };
}

test('rotate: every function goes first equally often, results in the order of the functions', async (t) => {
  const log: string[] = [];
  const fn = (name: string) => async () => {
    log.push(name);
    return name;
  };
  const rounds = await rotate([fn('a'), fn('b'), fn('c')], 3, 0);
  t.deepEqual(log, ['a', 'b', 'c', 'b', 'c', 'a', 'c', 'a', 'b']);
  t.deepEqual(rounds, [
    ['a', 'b', 'c'],
    ['a', 'b', 'c'],
    ['a', 'b', 'c'],
  ]);
});

test('alternate: warm-up windows first, then a-first and b-first pairs in turn', async (t) => {
  const log: string[] = [];
  const fn = (name: string) => async () => void log.push(name);
  await alternate(fn('a'), fn('b'), 4, 1);
  t.deepEqual(log, ['a', 'b', 'a', 'b', 'b', 'a', 'a', 'b', 'b', 'a']);
});

test('a target is judged on the median of per-pair ratios, not on the ratio of medians', async (t) => {
  const log: string[] = [];
  // Per pair: 3, 1.1, 1.1, 1.1, 0.3 (median 1.1); the medians of each side are both 30 (ratio 1.0).
  const subject = scripted('subject', [0, 30, 22, 33, 44, 15], log);
  const baseline = scripted('baseline', [0, 10, 20, 30, 40, 50], log);
  const r = await runComparison(
    { subject, baseline, pairs: 5, warmWindows: 1, targets: [{ what: 'within 1.2×', op: '<=', bound: 1.2 }] },
    ctx,
  );
  t.is(r.error, undefined);
  t.is(r.windows.length, 5);
  t.true(Math.abs(r.metrics.value!.ratio!.median - 1.1) < 1e-9);
  t.is(r.metrics.value!.subject.median, 30);
  t.is(r.metrics.value!.baseline!.median, 30);
  t.deepEqual([r.metrics.value!.ratio!.min, r.metrics.value!.ratio!.max], [0.3, 3]);
  const [target] = r.targets;
  t.true(target!.met);
  // The middle half of the pairs (1.1 – 1.1) meets it: firm, whatever the outliers.
  t.true(target!.firm);
  t.is(verdict(target!), 'met, 9% to spare');
});

test('a missed median is MISSED, borderline when the middle half of the pairs straddles the bound', async (t) => {
  const log: string[] = [];
  const subject = scripted('subject', [0, 15, 15, 15, 10, 10], log);
  const baseline = scripted('baseline', [0, 10, 10, 10, 10, 10], log);
  const r = await runComparison({ subject, baseline, pairs: 5, targets: [{ what: 't', op: '<=', bound: 1.2 }] }, ctx);
  t.false(r.targets[0]!.met);
  // q1 of the ratios (1.0) meets the bound, the median (1.5) does not: borderline.
  t.false(r.targets[0]!.firm);
  t.is(verdict(r.targets[0]!), 'MISSED by 25% (borderline)');
});

test('a margin under 1% is given to a tenth of a percent, and a hair as less than 0.1%', (t) => {
  const target = (margin: number, met: boolean): TargetResult => ({
    what: 't',
    required: '≤ 1×',
    actual: 1 / margin,
    met,
    margin,
    firm: true,
    detail: '',
  });
  t.is(verdict(target(1.004, true)), 'met, 0.4% to spare');
  t.is(verdict(target(1.03, true)), 'met, 3% to spare');
  t.is(verdict(target(1 / 1.006, false)), 'MISSED by 0.6%');
  // The thread ↔ thread row against birpc of one full run: its median pair read 1.00000000006×.
  t.is(verdict(target(1 / 1.00000000006, false)), 'MISSED by less than 0.1%');
  t.is(verdict(target(1 / 1.25, false)), 'MISSED by 25%');
});

test('A vs A: a two-sided bound is met or missed, with no margin', async (t) => {
  const log: string[] = [];
  const arm = scripted('same', [10, 10, 10.5, 10, 9.8, 10, 10, 10, 10, 10, 10, 10], log);
  const r = await runComparison({ subject: arm, baseline: arm, pairs: 5, targets: [{ what: 'A vs A', op: '≈', bound: 0.1 }] }, ctx);
  t.true(r.targets[0]!.met);
  t.is(r.targets[0]!.margin, undefined);
  t.is(verdict(r.targets[0]!), 'met');
});

test('a window that fails fails its comparison, its targets read MISSED with the error, its floor is still measured', async (t) => {
  const failing: Arm = {
    name: 'broken',
    unit: 'ms',
    window: async () => {
      throw new Error('Connection closed during the handshake');
    },
  };
  const floor = scripted('floor', [100, 300, 200], []);
  const r = await runComparison(
    { subject: failing, baseline: floor, pairs: 3, targets: [{ what: 'starts', of: 'subject', op: '<=', bound: 60_000 }] },
    ctx,
  );
  t.regex(r.error!, /handshake/);
  t.false(r.targets[0]!.met);
  t.regex(verdict(r.targets[0]!), /^MISSED \(failed: .*handshake\)$/);
  // The floor is still measured, alone, for the record.
  t.deepEqual(r.baselineAlone, { value: { median: 200, min: 100, max: 300, q1: 100, q3: 300 } });
});

test('absolute targets read the subject alone', async (t) => {
  const log: string[] = [];
  const subject = scripted('death', [99, 20, 30, 25], log);
  const floor = scripted('floor', [1, 5, 5, 5], log);
  const r = await runComparison(
    { subject, baseline: floor, pairs: 3, targets: [{ what: '≤ 50 ms', of: 'subject', op: '<=', bound: 50 }] },
    ctx,
  );
  t.is(r.targets[0]!.actual, 25);
  t.true(r.targets[0]!.met);
  t.is(r.targets[0]!.detail, '25.0 vs 5.00 µs');
});

test('a one-CPU comparison runs its windows pinned to one CPU, then puts back the CPUs allowed before', async (t) => {
  const before = allowedCpus();
  const seen: string[] = [];
  const arm: Arm = {
    name: 'pinned',
    unit: 'µs',
    window: async () => {
      seen.push(allowedCpus());
      return 1;
    },
  };
  const result = await runComparison({ subject: arm, baseline: arm, oneCpu: true, pairs: 2, warmWindows: 0 }, ctx);
  t.is(result.error, undefined);
  t.true(result.oneCpu);
  t.deepEqual(new Set(seen), new Set([/^\d+/.exec(before)![0]]));
  t.is(allowedCpus(), before);
});
