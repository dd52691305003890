/** Runs a script of the compiled package under plain `node`, as a user's program would run. */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';
import { withDeadline } from './deadline.js';
import { ended } from './child-exit.js';

/**
 * Runs `script` without tsx (execArgv: [], none of this test process's options) and with `env`,
 * asserts that it exits with 0 within `ms`, and returns what it printed. It is killed when the test ends;
 * the worker processes of a cluster it started exit with it (their IPC channel closes).
 */
export async function runCompiled(t: ExecutionContext, script: URL, env: NodeJS.ProcessEnv = process.env, ms = 60_000): Promise<string> {
  const child = fork(fileURLToPath(script), [], { execArgv: [], env, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const exited = ended(child).then(([code]) => code);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  t.is(await withDeadline(exited, ms, `${script.pathname.split('/').pop()} running to its end`), 0);
  return out;
}
