// bench/suite-process.ts: a suite runs in a forked process of its own and its results come back as they
// complete; a process that dies, hangs or does not exit after its suite yields a failed result.
import test from 'ava';
import type { ComparisonResult } from '../bench/interleave.js';
import { runSuiteInProcess } from '../bench/suite-process.js';
import { suiteNamed } from './fixtures/bench-suites.js';

const suites = new URL('./fixtures/bench-suites.js', import.meta.url).href;
const quick = { quick: true };

async function run(name: string, hangMs?: number): Promise<{ results: ComparisonResult[]; seen: ComparisonResult[] }> {
  const seen: ComparisonResult[] = [];
  const results = await runSuiteInProcess(suiteNamed(name), quick, (r) => seen.push(r), { suites, ...(hangMs ? { hangMs } : {}) });
  return { results, seen };
}

test('the suite runs in another process, and its results come back in order through onResult', async (t) => {
  const { results, seen } = await run('pid');
  t.is(results.length, 1);
  t.deepEqual(seen, results);
  const [r] = results;
  t.is(r!.error, undefined);
  t.is(r!.suite, 'pid');
  t.is(r!.windows.length, 2);
  const pids = r!.windows.map((w) => w.subject);
  t.is(pids[0], pids[1]);
  t.not(pids[0], process.pid);
  t.is(r!.windows[0]!.baseline, 1);
});

test('a suite of three opens runs in three processes, one after another, and its results come back merged', async (t) => {
  const { results, seen } = await run('opens');
  t.deepEqual(seen, results);
  t.is(results.length, 1);
  const [r] = results;
  t.is(r!.error, undefined);
  t.is(r!.opens, 3);
  t.is(r!.windows.length, 6);
  const pids = r!.windows.map((w) => w.subject as number);
  t.is(new Set(pids).size, 3);
  t.false(pids.includes(process.pid));
  t.is(r!.perOpen?.value?.length, 3);
  t.true(r!.targets[0]!.met);
});

test('a process that ends mid-suite: the results it sent, then a failed one that says how it ended', async (t) => {
  const { results } = await run('dies');
  t.is(results.length, 2);
  t.is(results[0]!.error, undefined);
  t.is(results[1]!.suite, 'dies');
  t.is(results[1]!.error, 'its process ended before the suite did (exit code 3)');
});

test('a process that does not exit after its suite: its results, then a failed one', async (t) => {
  const { results } = await run('leaks');
  t.is(results.length, 2);
  t.is(results[0]!.error, undefined);
  t.regex(results[1]!.error ?? '', /did not exit cleanly after the suite \(exit code 1/);
});

test('a process still running after hangMs is killed, and the suite fails', async (t) => {
  const started = performance.now();
  const { results } = await run('hangs', 1500);
  t.is(results.length, 1);
  t.is(results[0]!.error, 'its process ended before the suite did (SIGKILL)');
  t.true(performance.now() - started < 10_000);
});
