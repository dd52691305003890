// bench/opens.ts: a suite opened several times, its results merged per comparison and judged on every
// open's pairs together. No spawning here (bench-suite-process.test.ts forks a suite of several opens).
import test from 'ava';
import type { ComparisonResult } from '../bench/interleave.js';
import { mergeOpens, runOpens } from '../bench/opens.js';
import type { TargetSpec } from '../bench/targets.js';

const atMostOne: TargetSpec = { what: 'subject ≤ baseline', op: '<=', bound: 1 };

/** A comparison of `subject` against `base` whose windows read `pairs` ([subject, baseline] each). */
function result(subject: string, pairs: [number, number][], extra: Partial<ComparisonResult> = {}): ComparisonResult {
  return {
    suite: 's',
    group: 'g',
    subject,
    baseline: 'base',
    unit: 'µs',
    pairs: pairs.length,
    metrics: { value: { subject: spreadOf(pairs.map((p) => p[0])), ratio: spreadOf(pairs.map((p) => p[0] / p[1])) } },
    windows: pairs.map(([s, b]) => ({ subject: s, baseline: b })),
    targets: [],
    specs: [atMostOne],
    seconds: 1,
    ...extra,
  };
}

function spreadOf(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: sorted[sorted.length >> 1]!, min: sorted[0]!, max: sorted.at(-1)!, q1: sorted[0]!, q3: sorted.at(-1)! };
}

test('the windows of every open make one result per comparison, judged on them all', (t) => {
  // Each open alone reads its own ratio; together the median ratio is 1.0 (three of 0.9, 1.0, 1.1).
  const [a, b] = mergeOpens([
    [result('a', [[9, 10]]), result('b', [[1, 1]])],
    [result('a', [[10, 10]]), result('b', [[2, 1]])],
    [result('a', [[11, 10]]), result('b', [[3, 1]])],
  ]);
  t.is(a!.subject, 'a');
  t.is(a!.opens, 3);
  t.is(a!.pairs, 3);
  t.is(a!.seconds, 3);
  t.deepEqual(
    a!.windows.map((w) => w.subject),
    [9, 10, 11],
  );
  t.is(a!.metrics.value!.ratio!.median, 1);
  t.deepEqual(a!.perOpen, { value: [0.9, 1, 1.1] });
  t.is(a!.targets.length, 1);
  t.true(a!.targets[0]!.met);
  t.regex(a!.targets[0]!.detail, /; each open 0\.90×, 1\.00×, 1\.10×$/);
  // b: ratios 1, 2, 3: median 2, missed, and firm (the middle half, 1–3 by nearest rank, is not all below 1).
  t.is(b!.metrics.value!.ratio!.median, 2);
  t.false(b!.targets[0]!.met);
});

test('comparisons are matched by their arms and pinning, not their place; repeats of one pair by their order', (t) => {
  const pinned = (subject: string, v: number) => result(subject, [[v, 1]], { oneCpu: true });
  const merged = mergeOpens([
    [result('a', [[1, 1]]), pinned('a', 2), result('a', [[3, 1]])],
    [pinned('a', 20), result('a', [[10, 1]]), result('a', [[30, 1]])],
  ]);
  t.deepEqual(
    merged.map((r) => [r.oneCpu ?? false, r.windows.map((w) => w.subject)]),
    [
      [false, [1, 10]],
      [true, [2, 20]],
      [false, [3, 30]],
    ],
  );
});

test('an open that failed fails the comparison, and says which open; one no open reached is kept as it is', (t) => {
  const failedSuite: ComparisonResult = {
    ...result('s', []),
    subject: 's',
    baseline: undefined,
    metrics: {},
    specs: [],
    error: 'its process ended before the suite did (exit code 3)',
  };
  const [a, b, suite] = mergeOpens([
    [result('a', [[1, 1]]), result('b', [[1, 1]])],
    [result('a', [[1, 1]]), failedSuite],
  ]);
  t.is(a!.error, undefined);
  t.true(a!.targets[0]!.met);
  t.is(b!.opens, 1);
  t.is(b!.windows.length, 1);
  t.is(suite!.error, 'its process ended before the suite did (exit code 3) (open 2 of 2)');
  const failedWindow = mergeOpens([[result('a', [[1, 1]])], [result('a', [], { error: 'a window took longer than 9 ms', metrics: {} })]]);
  t.regex(failedWindow[0]!.error ?? '', /took longer than 9 ms \(open 2 of 2\)/);
  t.deepEqual(failedWindow[0]!.metrics, {});
  t.false(failedWindow[0]!.targets[0]!.met);
  t.regex(failedWindow[0]!.targets[0]!.missing ?? '', /^failed: /);
});

test('runOpens: one open streams its results; several share the pairs out and hand over the merged ones at the end', async (t) => {
  const suite = { name: 's', group: 'g', open: async () => ({ comparisons: [], close: async () => {} }) };
  const seenOpts: (number | undefined)[] = [];
  const runOpen = async (opts: { opens?: number }, each: (r: ComparisonResult) => void) => {
    seenOpts.push(opts.opens);
    const r = result('a', [[seenOpts.length, 1]]);
    each(r);
    return [r];
  };
  const streamed: ComparisonResult[] = [];
  await runOpens(suite, { quick: true }, runOpen, (r) => streamed.push(r));
  t.deepEqual(seenOpts, [undefined]);
  t.is(streamed.length, 1);

  seenOpts.length = 0;
  const merged: ComparisonResult[] = [];
  const out = await runOpens({ ...suite, opens: 3 }, { quick: true }, runOpen, (r) => merged.push(r));
  t.deepEqual(seenOpts, [3, 3, 3]);
  t.is(merged.length, 1);
  t.deepEqual(out, merged);
  t.deepEqual(
    merged[0]!.windows.map((w) => w.subject),
    [1, 2, 3],
  );
});
