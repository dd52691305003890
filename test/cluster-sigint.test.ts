/**
 * Ctrl-C in a terminal signals the whole foreground process group, the coordinator's worker processes
 * included. The coordinator owns their lifetime: they do not die of it, so a coordinator that handles
 * SIGINT (to settle and close) still has its workers; one that does not dies, and they follow it.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { fixture, pidAlive, pollUntil, within } from './helpers/cluster.js';
import { ended } from './helpers/child-exit.js';

test('a SIGINT to the process group leaves the worker processes to their coordinator', async (t) => {
  // Its own group, as a shell makes one per job: the test's signal reaches the coordinator and its workers.
  const coordinator = spawn(process.execPath, [fileURLToPath(fixture('sigint-coordinator.ts'))], {
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  });
  let workerPid = 0;
  t.teardown(() => {
    for (const pid of [coordinator.pid!, workerPid]) {
      try {
        if (pid) process.kill(pid, 'SIGKILL');
      } catch {}
    }
  });
  const exited = ended(coordinator).then(([code]) => code);
  const lines: string[] = [];
  let out = '';
  coordinator.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    for (let at = out.indexOf('\n'); at >= 0; at = out.indexOf('\n')) {
      lines.push(out.slice(0, at));
      out = out.slice(at + 1);
    }
  });
  await pollUntil(() => lines.length >= 1 || coordinator.exitCode !== null, 40_000, 'the coordinator printing its worker’s pid');
  workerPid = (JSON.parse(lines[0]!) as { pid: number }).pid;
  t.true(pidAlive(workerPid));

  process.kill(-coordinator.pid!, 'SIGINT');
  t.is(await within(exited, 20_000, 'the coordinator closing after SIGINT'), 0);
  t.deepEqual(JSON.parse(lines[1] ?? 'null'), { afterSigint: 1 }, 'the worker answered after the Ctrl-C');
  await pollUntil(() => !pidAlive(workerPid), 5000, 'the worker exiting with its cluster');
});
