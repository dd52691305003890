/**
 * semantics §7, for threads: when the coordinator's process exits without closing its cluster (a crash,
 * `process.exit()`), its threads stop as the exit begins. Node would stop them one at a time, joining each
 * before telling the next, while the rest kept running handlers: with 32 busy threads, seconds after the
 * coordinator's `exit` event.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { fixture, within } from './helpers/cluster.js';
import { ended } from './helpers/child-exit.js';

const THREADS = 32;
/** Time for a thread told to stop to notice: its JavaScript is interrupted at once. */
const MARGIN_MS = 250;

test('a coordinator that crashes stops all its busy threads as it exits, not one by one', async (t) => {
  t.timeout(120_000);
  const dir = mkdtempSync(path.join(tmpdir(), 'convoy-exit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const coordinator = spawn(process.execPath, [fileURLToPath(fixture('crashing-coordinator.ts')), `${THREADS}`, dir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  t.teardown(() => coordinator.kill('SIGKILL'));
  let stderr = '';
  coordinator.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const code = await within(
    ended(coordinator).then(([code]) => code),
    100_000,
    'the coordinator starting its threads, crashing and exiting',
  );
  t.is(code, 1, stderr);
  t.true(stderr.includes('the coordinator crashed'), stderr);
  const exitAt = Number(/^exit (\d+)$/m.exec(stderr)?.[1]);
  t.true(exitAt > 0, `no exit line in: ${stderr}`);
  const files = readdirSync(dir);
  t.is(files.length, THREADS, 'every thread was spinning');
  const lastTicks = files.map((file) => Math.max(...readFileSync(path.join(dir, file), 'utf8').trim().split('\n').map(Number)));
  const latest = Math.max(...lastTicks);
  t.log(`the last thread's last tick: ${latest - exitAt} ms after the exit event`);
  t.true(latest <= exitAt + MARGIN_MS, `a thread still ran ${latest - exitAt} ms after its coordinator began to exit`);
});
