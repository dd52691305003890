/**
 * A pool module that cannot load (missing, throwing, or ending its thread) fails startCluster() with
 * WorkerStartError (worker `pool`), where it used to end the coordinator's process through an unheard
 * piscina 'error' event. Run in a coordinator process of its own (fixtures/pool-failure-coordinator.ts),
 * which must exit by itself with code 0.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { within } from './helpers/cluster.js';
import { repoFile } from './helpers/repo.js';
import { ended } from './helpers/child-exit.js';

interface Line {
  started?: boolean;
  name?: string;
  code?: string;
  worker?: string;
  message?: string;
  root?: string;
  rootMessage?: string;
}

test('a pool module that is missing, throws, exits or never finishes loading fails startCluster naming it; the process lives on and ends by itself', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(repoFile('test/fixtures/pool-failure-coordinator.ts'))], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const [code, signal] = await within(ended(child), 60_000, 'the coordinator process exiting by itself').catch((error: Error) => {
    // What it printed says which case it was in, and what it still held (its watchdog's line).
    throw new Error(`${error.message}; its stdout: ${out}; its stderr: ${err}`);
  });
  t.deepEqual([code, signal], [0, null], err);
  const lines = out
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Line);
  t.is(lines.length, 4, out);
  const [missing, throwing, exiting, hanging] = lines as [Line, Line, Line, Line];
  for (const failed of lines) {
    t.like(failed, { started: false, name: 'WorkerStartError', code: 'ERR_CONVOY_START', worker: 'pool' });
  }
  t.regex(missing.message!, /^Worker "pool" failed to start: failed to load file:.*no-such-pool-module\.ts/);
  t.regex(missing.rootMessage!, /no-such-pool-module/, 'the cause says which module is missing');
  t.regex(throwing.message!, /pool-throws-on-load\.ts/);
  t.like(throwing, { root: 'RangeError', rootMessage: 'pool module throws on load' });
  t.regex(exiting.message!, /pool-exits-on-load\.ts/);
  t.regex(exiting.rootMessage!, /exited with code: 3/);
  t.regex(hanging.message!, /pool-hangs-on-load\.ts/);
  t.like(hanging, { root: 'TimeoutError' }, 'its start timed out');
});
