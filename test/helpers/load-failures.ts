/**
 * The load-failure table shared by test/cluster-start-*.test.ts: worker modules that cannot start, and
 * one test body that checks startCluster() rejects naming the worker and its cause, leaving nothing running.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { RemoteError, startCluster, type WorkerSpec } from '../../src/index.js';
import { fixture, pidAlive, pollUntil, settle, within, workerProcessPids } from './cluster.js';

/** Every error on the `cause` chain, outermost first. */
function causes(error: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e = error; e !== undefined && out.length < 10; e = (e as { cause?: unknown }).cause) out.push(e);
  return out;
}

const isRemote = (e: unknown): e is RemoteError => e instanceof RemoteError;

function pidFile(t: ExecutionContext): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'convoy-pids-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'pids.txt');
}

function readPids(file: string): number[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => Number(line.split(' ')[0]));
}

const tcpHandles = () => process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP')).length;

export interface Case {
  title: string;
  module: URL;
  kind: 'thread' | 'process';
  /** Identifies the cause somewhere on the error's cause chain. */
  cause(chain: unknown[]): boolean;
  options?: { startTimeoutMs?: number };
  /** Start a healthy worker of the same kind alongside. @default true */
  bystander?: boolean;
}

export const cases: Case[] = [
  {
    title: 'syntax error in a .ts module (thread)',
    module: fixture('bad-syntax.ts'),
    kind: 'thread',
    cause: (chain) => chain.some((e) => isRemote(e) && e.remoteName === 'TransformError'),
  },
  {
    title: 'syntax error in a .mjs module (process)',
    module: fixture('bad-syntax.mjs'),
    kind: 'process',
    cause: (chain) => chain.some((e) => isRemote(e) && e.remoteName === 'SyntaxError'),
  },
  ...(['thread', 'process'] as const).map(
    (kind): Case => ({
      title: `module file does not exist (${kind})`,
      module: fixture('no-such-module.ts'),
      kind,
      cause: (chain) => chain.some((e) => isRemote(e) && e.data.code === 'ERR_MODULE_NOT_FOUND'),
    }),
  ),
  {
    title: 'module imports a missing package (process)',
    module: fixture('missing-dependency.ts'),
    kind: 'process',
    cause: (chain) => chain.some((e) => isRemote(e) && e.data.code === 'ERR_MODULE_NOT_FOUND'),
  },
  ...(['thread', 'process'] as const).map(
    (kind): Case => ({
      title: `default export is not from defineWorker() (${kind})`,
      module: fixture('not-defined.ts'),
      kind,
      cause: (chain) => chain.some((e) => isRemote(e) && e.remoteName === 'TypeError'),
    }),
  ),
  ...(['thread', 'process'] as const).map(
    (kind): Case => ({
      title: `the factory throws (${kind})`,
      module: fixture('throwing-factory.ts'),
      kind,
      cause: (chain) => chain.some((e) => isRemote(e) && e.remoteName === 'RangeError' && e.data.code === 'FIXTURE_FACTORY_FAILED'),
    }),
  ),
  ...(['thread', 'process'] as const).map(
    (kind): Case => ({
      title: `the API has a \`then\` method (${kind})`,
      module: fixture('thenable-api.ts'),
      kind,
      // Refused at once, well within this startTimeoutMs: it used to be waited for until then.
      options: { startTimeoutMs: 60_000 },
      cause: (chain) => chain.some((e) => isRemote(e) && e.remoteName === 'TypeError' && /has a `then` method/.test(e.message)),
    }),
  ),
  ...(['thread', 'process'] as const).map(
    (kind): Case => ({
      title: `the module exits while loading (${kind})`,
      module: fixture('exits-on-load.ts'),
      kind,
      // Nothing remote to carry: the coordinator saw the worker exit before it loaded, and says with what
      // code — not that its control channel closed, which a thread's does before its exit is known.
      cause: (chain) => chain.some((e) => e instanceof Error && /\(exit code 7\)/.test(e.message)),
    }),
  ),
  ...(['thread', 'process'] as const).map(
    (kind): Case => ({
      title: `the module crashes while loading, from a timer (${kind})`,
      module: fixture('crashes-while-loading.ts'),
      kind,
      // The worker's last words carry its uncaught error, which its control channel's close, seen before
      // its exit, could not; a process's would otherwise reach only its stderr.
      cause: (chain) =>
        chain.some((e) => isRemote(e) && e.remoteName === 'Error' && e.message === 'FIXTURE_CRASHED_WHILE_LOADING') &&
        chain.some((e) => e instanceof Error && e.message.includes('before it could load: FIXTURE_CRASHED_WHILE_LOADING')),
    }),
  ),
  ...(['thread', 'process'] as const).map(
    (kind): Case => ({
      title: `the factory never finishes: startTimeoutMs (${kind})`,
      module: fixture('never-ready.ts'),
      kind,
      options: { startTimeoutMs: 5000 },
      // Alone: under load a healthy bystander could itself miss so short a start deadline.
      bystander: false,
      // What did not happen in time, and the option that bounds it: not convoy's own call that timed out.
      cause: (chain) =>
        chain.some(
          (e) =>
            e instanceof Error && e.message.includes('did not load its module and return from its factory within 5000 ms (startTimeoutMs)'),
        ),
    }),
  ),
];

/** Starts a cluster of a healthy bystander `ok` and the failing `bad` of case `c`, and checks the failure. */

export async function checkLoadFailure(t: ExecutionContext, c: Case): Promise<void> {
  const pids = pidFile(t);
  const tcpBefore = tcpHandles();
  // A healthy bystander of the same kind starts alongside and must be gone too.
  const workers: WorkerSpec[] = [
    ...(c.bystander === false
      ? []
      : [{ name: 'ok', module: fixture('pid-reporter.ts'), kind: c.kind, env: { CONVOY_TEST_PID_FILE: pids } }]),
    { name: 'bad', module: c.module, kind: c.kind, env: { CONVOY_TEST_PID_FILE: pids } },
  ];
  const starting = startCluster({ workers, ...c.options });
  t.teardown(async () => {
    const cluster = await starting.catch(() => undefined);
    await cluster?.close();
  });
  const result = await within(settle(starting), 40_000, 'startCluster');
  t.false(result.ok, 'startCluster() rejected');
  if (result.ok) return;
  const error = result.error as Error;
  t.true(error instanceof Error);
  t.true(error.message.includes('"bad"'), `the error names the worker: ${error.message}`);
  t.false(error.message.includes('"ok"'), 'and only the failed worker');
  t.false(error.message.includes('\0'), `no internal method name shows: ${JSON.stringify(error.message)}`);
  const chain = causes(error);
  t.true(chain.length > 1, 'a cause is kept');
  t.true(
    c.cause(chain),
    `the cause is identified: ${chain.map((e) => (isRemote(e) ? `${e.remoteName}: ${e.message}` : String(e))).join(' <- ')}`,
  );

  // Nothing left: no worker process of ours (checked at once: startCluster waited for their exit) ...
  t.deepEqual(workerProcessPids(), [], 'no worker process remains');
  if (c.kind === 'process') {
    const reported = readPids(pids);
    if (c.bystander !== false) t.true(reported.length >= 1, 'the bystander process ran');
    for (const pid of reported) t.false(pidAlive(pid), `process ${pid} is gone`);
  }
  // ... and no socket: the coordinator's listener and every connection are closed.
  await pollUntil(() => tcpHandles() <= tcpBefore, 2000, 'TCP handles back to where they were');
}
