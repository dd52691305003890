/**
 * Load failures of thread workers: startCluster() rejects with an error naming the worker and carrying
 * the cause, and leaves nothing running. Serial, so the child processes seen belong to the test at hand.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { cases, checkLoadFailure } from './helpers/load-failures.js';
import { within } from './helpers/cluster.js';
import { repoFile } from './helpers/repo.js';

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
  const [code, signal] = await within(
    new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s]))),
    40_000,
    'the coordinator process exiting by itself',
  );
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
