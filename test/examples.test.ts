/**
 * The examples in short configurations, and the `convoy` CLI's contract: exit codes and usage errors.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { runCounter } from '../examples/counter/run.js';
import { runReplication } from '../examples/replication/run.js';

test('counter: A awaits B in order over the batched stream, B in a process', async (t) => {
  const report = await runCounter({ rounds: 400, kind: 'process' });
  t.true(report.inOrder);
  t.is(report.last, 400);
  t.is(report.firstMismatch, undefined);
});

test('counter: the order check fails when B sees two calls swapped', async (t) => {
  const report = await runCounter({ rounds: 400, kind: 'thread', serverB: new URL('./fixtures/counter-swapping-b.ts', import.meta.url) });
  t.false(report.inOrder, 'replies still match their calls, but B saw the calls in another order');
  t.is(report.last, 400);
  t.deepEqual(report.firstMismatch, { index: 1, sent: 1, seen: 2 });
});

test('replication: notify keeps every replica a prefix of the primary; the pooled path diverges', async (t) => {
  const [ordered, pooled] = await runReplication({ writes: 400, replicas: 2, kind: 'thread' });
  t.is(ordered!.mode, 'ordered');
  t.is(ordered!.divergedReplicas, 0);
  t.is(ordered!.outOfOrder, 0);
  t.is(pooled!.mode, 'pooled');
  // Pool threads finish in whatever order their varying work allows: some writes overtake others.
  t.true(pooled!.outOfOrder > 0, `expected out-of-order applies through the pool, got ${pooled!.outOfOrder}`);
});

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/convoy.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

for (const [args, what] of [
  [['nope'], 'Unknown command "nope"'],
  [[], 'Missing command'],
  [['bank', '--shards', '1'], 'Expected --shards to be an integer >= 2, got "1"'],
  [['bank', '--kind', 'fiber'], 'Expected --kind to be one of thread, process, mixed, got "fiber"'],
  [['bank', '--seconds', 'soon'], 'Expected --seconds to be an integer >= 1, got "soon"'],
  [['counter', '--bogus'], "Unknown option '--bogus'"],
] as const) {
  test(`cli: \`convoy ${args.join(' ')}\` exits 2 with a one-line error and the usage`, async (t) => {
    const { code, stderr } = await cli([...args]);
    t.is(code, 2);
    const [first] = stderr.split('\n');
    t.true(first!.startsWith('convoy: ') && first!.includes(what), first);
    t.true(stderr.includes('Usage: convoy <command>'));
  });
}

test('cli: --help exits 0 with the usage', async (t) => {
  const { code, stdout } = await cli(['--help']);
  t.is(code, 0);
  t.true(stdout.includes('Usage: convoy <command>'));
});

test('cli: convoy counter --json prints a report and exits 0', async (t) => {
  const { code, stdout } = await cli(['counter', '--rounds', '200', '--kind', 'thread', '--json']);
  t.is(code, 0);
  const report = JSON.parse(stdout) as { inOrder: boolean; rounds: number };
  t.true(report.inOrder);
  t.is(report.rounds, 200);
});
