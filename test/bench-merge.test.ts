// bench/merge-results.ts: a later run's suites replace the same suites of a full run, in place, and the
// targets are judged again from the merged comparisons.
import test from 'ava';
import type { ComparisonResult } from '../bench/interleave.js';
import { mergeRuns } from '../bench/merge-results.js';

const result = (suite: string, subject: string, actual: number): ComparisonResult => ({
  suite,
  group: suite,
  subject,
  unit: 'µs',
  pairs: 1,
  metrics: {},
  windows: [],
  targets: [{ what: `${subject} target`, required: '≤ 1×', actual, met: actual <= 1, margin: 1 / actual, firm: true, detail: '' }],
  seconds: 1,
});

test('the later run replaces its suites where they stood, keeps the others, and the targets follow', (t) => {
  const base = {
    date: '2026-01-01T00:00:00Z',
    comparisons: [result('a', 'a1', 2), result('b', 'b1', 2), result('c', 'c1', 2)],
    targets: [],
  };
  const later = {
    date: '2026-01-02T00:00:00Z',
    minutes: 3,
    convoyBuild: { revision: 'abc1234' },
    comparisons: [result('b', 'b1', 0.5), result('b', 'b2', 0.5), result('d', 'd1', 0.5)],
  };
  const merged = mergeRuns(base, later);
  t.deepEqual(
    merged.comparisons!.map((r) => r.subject),
    ['a1', 'b1', 'b2', 'c1', 'd1'],
  );
  t.deepEqual(
    (merged.targets as { what: string; met: boolean }[]).map((x) => [x.what, x.met]),
    [
      ['a1 target', false],
      ['b1 target', true],
      ['b2 target', true],
      ['c1 target', false],
      ['d1 target', true],
    ],
  );
  t.deepEqual(merged.partRuns, [{ suites: ['b', 'd'], date: later.date, minutes: 3, revision: 'abc1234' }]);
  t.is(merged.date, base.date);
});

test('a later run with no interleaved results is refused', (t) => {
  t.throws(() => mergeRuns({ date: 'x', comparisons: [] }, { date: 'y', comparisons: [] }), { message: /no interleaved results/ });
});
