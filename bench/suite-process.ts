// Runs one interleaved suite in a Node process of its own, the way a JMH fork runs one benchmark: what
// earlier suites left in a process (V8's inline caches in Node's events and streams code, turned
// megamorphic by MessagePorts beside sockets: bench/README.md says how that was found) must not move a
// later suite's figures. It did: in one `npm run bench` process, convoy's coordinator → process round
// trip read 50.4 µs (1.11× raw TCP) when its suite ran first and 53.2 µs (1.18×) right after the
// coordinator ↔ thread suite, with the raw arm, in processes of its own, at 44.7 and 44.8 µs
// (bench/README.md, "One process per suite"). Each raw arm already had a process of its own; now convoy's
// coordinator arms do too.
//
// The parent forks this file with the suite's name; the child runs it and sends each comparison's result
// back as it completes, then `done`. A child that dies or hangs yields a failed result, not a hung bench.

import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RunOptions } from './harness.js';
import { failedSuite, runSuite, type ComparisonResult, type Suite } from './interleave.js';
import { runOpens } from './opens.js';

/** Bounds on a suite's open and close, and on each of its windows (interleave.ts, runSuite). */
export const SUITE_BOUNDS = { openTimeoutMs: 120_000, windowTimeoutMs: 180_000 } as const;

type ChildMessage = { result: ComparisonResult } | { done: true };

/** The module the child finds suites in: it exports `suiteNamed(name)`. */
const SUITES_MODULE = new URL('./suites/index.js', import.meta.url).href;

/**
 * Runs `suite` in a forked Node process (same flags as this one), which finds it by name in `suites` (a
 * module exporting `suiteNamed`); calls `onResult` as each comparison ends. A process still running after
 * `hangMs` is killed. A suite of several opens (Suite.opens) gets a process per open, one after another,
 * and `onResult` their merged results at the end.
 */
export function runSuiteInProcess(
  suite: Suite,
  opts: RunOptions,
  onResult: (r: ComparisonResult) => void,
  bounds: { hangMs?: number; suites?: string; progress?: (line: string) => void } = {},
): Promise<ComparisonResult[]> {
  return runOpens(suite, opts, (o, each) => runOpenInProcess(suite, o, each, bounds), onResult, bounds.progress);
}

function runOpenInProcess(
  suite: Suite,
  opts: RunOptions,
  onResult: (r: ComparisonResult) => void,
  { hangMs = 30 * 60_000, suites = SUITES_MODULE }: { hangMs?: number; suites?: string },
): Promise<ComparisonResult[]> {
  const started = performance.now();
  const results: ComparisonResult[] = [];
  const flags = [...(opts.quick ? ['--quick'] : []), ...(opts.opens ? ['--opens', String(opts.opens)] : [])];
  const child = fork(fileURLToPath(import.meta.url), [suites, suite.name, ...flags], {
    execArgv: process.execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve) => {
    let done = false;
    const hung = setTimeout(() => child.kill('SIGKILL'), hangMs);
    child.on('message', (m: ChildMessage) => {
      if ('done' in m) done = true;
      else {
        results.push(m.result);
        onResult(m.result);
      }
    });
    // 'close', not 'exit': it comes after the IPC channel has closed too, so after every message it carried.
    child.on('close', (code, signal) => {
      clearTimeout(hung);
      const how = signal ?? `exit code ${code}`;
      const error = !done
        ? `its process ended before the suite did (${how})`
        : code !== 0
          ? `its process did not exit cleanly after the suite (${how}; its stderr says why)`
          : undefined;
      if (error) {
        const failed = failedSuite(suite, (performance.now() - started) / 1000, error);
        results.push(failed);
        onResult(failed);
      }
      resolve(results);
    });
  });
}

// The child: `suite-process.ts <suites module> <suite name> [--quick] [--opens N]`, forked by runSuiteInProcess.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const send = (m: ChildMessage) => new Promise<void>((resolve) => process.send!(m, () => resolve()));
  const { suiteNamed } = (await import(process.argv[2]!)) as { suiteNamed(name: string): Suite };
  const suite = suiteNamed(process.argv[3]!);
  const opens = process.argv.indexOf('--opens');
  const opts: RunOptions = { quick: process.argv.includes('--quick'), ...(opens > 0 ? { opens: Number(process.argv[opens + 1]) } : {}) };
  const pending: Promise<void>[] = [];
  await runSuite(suite, opts, SUITE_BOUNDS, (result) => void pending.push(send({ result })));
  await Promise.all(pending);
  await send({ done: true });
  process.disconnect();
  // The suite ends what it started, so this process exits by itself; if something leaked, say what and
  // exit anyway (unref'd: fires only if something else keeps the process alive).
  setTimeout(() => {
    console.error(`bench: suite ${suite.name} still alive 5 s after it closed; leaked: ${process.getActiveResourcesInfo().join(', ')}`);
    process.exit(1);
  }, 5_000).unref();
}
