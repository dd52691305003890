/** No orphans: when the coordinator is SIGKILLed (no chance to clean up), every worker process exits. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { fixture, pidAlive, pollUntil, within } from './helpers/cluster.js';

test('worker processes exit when their coordinator is SIGKILLed', async (t) => {
  const coordinator = spawn(process.execPath, [fileURLToPath(fixture('orphan-coordinator.ts'))], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let pids: number[] = [];
  t.teardown(() => {
    // Whatever the outcome, leave nothing behind.
    for (const pid of [coordinator.pid!, ...pids]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => coordinator.once('exit', (_, signal) => resolve(signal)));
  const line = await within(
    new Promise<string>((resolve, reject) => {
      let out = '';
      coordinator.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
        if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
      });
      coordinator.once('exit', (code, signal) => reject(new Error(`the coordinator exited early (${code ?? signal})`)));
    }),
    40_000,
    'the coordinator printing its worker pids',
  );
  const report = JSON.parse(line) as { coordinator: number; pids: number[] };
  pids = report.pids;
  t.is(report.coordinator, coordinator.pid!);
  t.is(pids.length, 2);
  for (const pid of pids) t.true(pidAlive(pid), `worker ${pid} runs before the coordinator dies`);

  coordinator.kill('SIGKILL');
  t.is(await within(exited, 5000, 'the coordinator dying'), 'SIGKILL');
  const killedAt = performance.now();
  await pollUntil(() => pids.every((pid) => !pidAlive(pid)), 5000, 'every worker process exiting');
  t.log(`workers gone ${(performance.now() - killedAt).toFixed(0)} ms after the coordinator`);
});
