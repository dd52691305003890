/**
 * Load failures of thread workers: startCluster() rejects with an error naming the worker and carrying
 * the cause, and leaves nothing running. Serial, so the child processes seen belong to the test at hand.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { type Cluster, RemoteError, startCluster, WorkerStartError } from '../src/index.js';
import { fixture, pollUntil, settle, within } from './helpers/cluster.js';
import { cases, checkLoadFailure } from './helpers/load-failures.js';
import { repoFile } from './helpers/repo.js';
import { ended } from './helpers/child-exit.js';

for (const c of cases.filter((c) => c.kind === 'thread')) {
  test.serial(`startCluster() rejects: ${c.title}; nothing is left running`, (t) => checkLoadFailure(t, c));
}

// From source, through tsx, unlike the rest of the suite (compiled): the layout a convoy developer runs,
// with the coordinator's threads and processes each registering tsx to load the sources.
test.serial('a coordinator process whose clusters failed to start exits by itself: no thread, process or socket left', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(repoFile('test/fixtures/load-failure-coordinator.ts'))], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const [code, signal] = await within(ended(child), 40_000, 'the coordinator process exiting by itself');
  t.deepEqual([code, signal], [0, null]);
  const lines = out
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { started: boolean; message?: string; root?: string });
  t.is(lines.length, 2);
  t.like(lines[0], { started: false });
  t.true(lines[0]!.message!.includes('"bad-thread"'));
  // Its own load failure, not any: the module's syntax error.
  t.like(lines[1], { started: false, root: 'SyntaxError' });
  t.true(lines[1]!.message!.includes('"bad-process"'));
});

test.serial(
  'threads that crash while loading, while the coordinator is busy, fail the start with their last words, not with whichever of exit or port came first',
  async (t) => {
    // Busy, the coordinator finds a thread's exit and its port's last message waiting together. Here it
    // takes the port first, but a CI run took the exit first (a plain Error as the cause): whichever
    // comes first, the start's error must wait for the last words.
    const dir = mkdtempSync(path.join(tmpdir(), 'convoy-cue-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const workers = Array.from({ length: 8 }, (_, i) => ({
      name: `bad${i}`,
      module: fixture('crashes-on-cue-while-loading.ts'),
      env: { CONVOY_TEST_CUE_DIR: dir },
    }));
    const starting = settle(startCluster({ workers }));
    t.teardown(async () => {
      const result = await starting;
      if (result.ok) await (result.value as Cluster).close();
    });
    await pollUntil(() => readdirSync(dir).length === workers.length, 30_000, 'every thread loading');
    writeFileSync(path.join(dir, 'go'), '');
    const until = performance.now() + 500;
    while (performance.now() < until) {
      // Blocked on purpose: the threads crash and exit meanwhile.
    }
    const result = await within(starting, 20_000, 'startCluster');
    t.false(result.ok);
    const error = result.ok ? undefined : (result.error as Error);
    t.true(error instanceof WorkerStartError, String(error));
    const cause = (error?.cause as Error | undefined)?.cause;
    t.true(cause instanceof RemoteError, `the thread's own error, as it told it: ${String(cause)}`);
    t.is((cause as Error | undefined)?.message, 'FIXTURE_CRASHED_ON_CUE');
  },
);
