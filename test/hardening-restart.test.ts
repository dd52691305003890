/**
 * Restarts under concurrency: workers that restart at the same time, die while loading, or lose a peer
 * meanwhile must end up reaching each other, like any pair of the mesh, without waiting out a timeout —
 * and a restart waits for no other worker (pairs open on first use), not even a blocked one.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test, { type ExecutionContext } from 'ava';
import { notify, type Remote } from '../src/index.js';
import type { Sink } from './fixtures/hardening-sink.js';
import { eventLog, exitLog, fixture, pollUntil, startFor, within } from './helpers/cluster.js';
import { factoryGate } from './helpers/gate.js';
import { ended } from './helpers/child-exit.js';

const SINK = fixture('hardening-sink.ts');

/** Health settings for these tests: a worker blocks its event loop on purpose, and is not hung. */
const PATIENT = { restartDelayMs: 10, heartbeatTimeoutMs: 60_000 } as const;
/** The longest a worker stays blocked if a test never releases it. */
const MAX_BLOCK_MS = 30_000;

/**
 * Blocks `worker`'s event loop until `release()` (a file the worker polls for: it reads no message
 * meanwhile), then, with an `exitCode`, makes it exit without reading what it was sent.
 */
function block(t: ExecutionContext, worker: Remote<Sink>, exitCode?: number): { release(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'convoy-block-'));
  const file = join(dir, 'release');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  void notify(worker).blockUntil(file, MAX_BLOCK_MS, exitCode);
  return { release: () => writeFileSync(file, '') };
}

/*
 * Restarts used to wire the new incarnation to every live worker, one restart at a time, so a restart could
 * wait for a busy worker and two overlapping restarts could miss each other. A restart now waits for no
 * other worker: here z stays blocked (it reads nothing) through both restarts.
 */
test('two workers restarting at the same time reach each other, while a third worker is blocked', async (t) => {
  const cluster = await startFor(t, {
    ...PATIENT,
    workers: [
      { name: 'x', module: SINK, kind: 'thread', restart: 'on-failure' },
      { name: 'y', module: SINK, kind: 'process', restart: 'on-failure' },
      { name: 'z', module: SINK, kind: 'thread' },
    ],
  });
  const restarts = eventLog(cluster, 'worker-restart');
  // A channel x ↔ y exists before the deaths: the restarted pair must open a new one.
  t.like(await within(cluster.worker<Sink>('x').tryCall('y', 'inc', [0]), 5000, 'x → y before'), { ok: true });
  const z = block(t, cluster.worker<Sink>('z'));
  await Promise.all([cluster.kill('x'), cluster.kill('y')]);
  await Promise.all([restarts.nth('x', 1, 30_000), restarts.nth('y', 1, 30_000)]);
  t.like(await within(cluster.worker<Sink>('x').tryCall('y', 'inc', [1]), 5000, 'x → y after the restarts'), { ok: true, value: 2 });
  t.like(await within(cluster.worker<Sink>('y').tryCall('x', 'inc', [2]), 5000, 'y → x after the restarts'), { ok: true, value: 3 });
  const stats = await cluster.stats();
  const peersOf = (name: string) =>
    stats.workers
      .find((w) => w.name === name)!
      .peers.map((p) => p.peer)
      .sort();
  t.deepEqual(peersOf('x'), ['y'], 'x has one channel, to the new y');
  t.deepEqual(peersOf('y'), ['x'], 'y has one channel, to the new x');
  z.release();
});

/*
 * A worker whose peer dies while it restarts: the restart does not wait for the peer (it used to wait for
 * the peer to dial it, and a peer that died first left it waiting out startTimeoutMs), and once both are
 * back they reach each other.
 */
test('a worker restarts while its peer is blocked; the peer then dies and restarts; they reach each other', async (t) => {
  const cluster = await startFor(t, {
    ...PATIENT,
    startTimeoutMs: 30_000,
    workers: [
      { name: 't', module: SINK, kind: 'thread', restart: 'on-failure' },
      { name: 'p', module: SINK, kind: 'process', restart: 'on-failure' },
    ],
  });
  const exits = exitLog(cluster);
  const restarts = eventLog(cluster, 'worker-restart');
  t.like(await within(cluster.worker<Sink>('p').tryCall('t', 'inc', [0]), 5000, 'p → t before'), { ok: true });
  const blocked = block(t, cluster.worker<Sink>('t'), 3);
  await cluster.kill('p');
  t.like(await restarts.nth('p', 1, 10_000), { incarnation: 1 }, 'p restarts though t is blocked');
  blocked.release();
  t.like(await exits.nth('t', 1, 10_000), { incarnation: 0, reason: 'exit', exitCode: 3, restarting: true });
  t.like(await restarts.nth('t', 1, 10_000), { incarnation: 1 });
  t.like(await within(cluster.worker<Sink>('t').tryCall('p', 'inc', [1]), 5000, 't → p'), { ok: true, value: 2 });
  t.like(await within(cluster.worker<Sink>('p').tryCall('t', 'inc', [2]), 5000, 'p → t'), { ok: true, value: 3 });
  t.deepEqual(
    exits.events.map((e) => [e.name, e.incarnation]),
    [
      ['p', 0],
      ['t', 0],
    ],
  );
});

/*
 * An incarnation that dies before it is ready is a failed try of the restart under way: no 'worker-exit'
 * for it, no second restart loop, and the next try becomes ready. Here x's second incarnation exits while
 * its factory waits at a gate.
 */
test('a worker that dies while its restart is loading is restarted by that same restart, once', async (t) => {
  const gate = factoryGate(t);
  const cluster = await startFor(t, {
    ...PATIENT,
    workers: [
      { name: 'x', module: fixture('gated-factory.ts'), kind: 'thread', restart: 'on-failure', env: { CONVOY_TEST_GATE: gate.dir } },
      { name: 'z', module: SINK, kind: 'thread' },
    ],
  });
  const exits = exitLog(cluster);
  const restarts = eventLog(cluster, 'worker-restart');
  gate.arm();
  await cluster.kill('x');
  await pollUntil(gate.waiting, 30_000, 'x#1 waiting in its factory');
  gate.crash();
  await pollUntil(() => !gate.waiting(), 30_000, 'x#1 exiting in its factory');
  await pollUntil(gate.waiting, 30_000, 'x#2 waiting in its factory');
  gate.release();
  t.like(await restarts.nth('x', 1, 30_000), { incarnation: 2, restarts: 2 });
  t.like(await within(cluster.worker<Sink>('x').tryCall('z', 'inc', [1]), 5000, 'x → z'), { ok: true, value: 2 });
  t.like(await within(cluster.worker<Sink>('z').tryCall('x', 'inc', [2]), 5000, 'z → x'), { ok: true, value: 3 });
  const { workers } = await cluster.stats();
  t.like(
    workers.find((w) => w.name === 'x'),
    { state: 'ready', incarnation: 2, restarts: 2 },
  );
  t.deepEqual(
    exits.events.map((e) => [e.name, e.incarnation]),
    [['x', 0]],
    'one exit: incarnation 1 never became ready',
  );
  t.is(restarts.events.length, 1);
});

/*
 * A review's: kill() of a worker whose restart was loading killed that load, counted it as a failed try
 * (the backoff doubled), and with no restart left gave the worker up as a `crash`: "exited before it
 * could load". kill() promises that a worker being started again has nothing to end.
 */
test('kill() while a restart is loading ends nothing: no event, and the restart becomes ready', async (t) => {
  const gate = factoryGate(t);
  const cluster = await startFor(t, {
    ...PATIENT,
    maxRestarts: 1,
    workers: [
      { name: 'x', module: fixture('gated-factory.ts'), kind: 'thread', restart: 'on-failure', env: { CONVOY_TEST_GATE: gate.dir } },
    ],
  });
  const exits = exitLog(cluster);
  const restarts = eventLog(cluster, 'worker-restart');
  gate.arm();
  await cluster.kill('x');
  await pollUntil(gate.waiting, 30_000, 'x#1 waiting in its factory');
  await within(cluster.kill('x'), 1000, 'kill() of a worker being started again');
  t.like(
    (await cluster.stats()).workers.find((w) => w.name === 'x'),
    { state: 'starting', incarnation: 1, restarts: 1 },
  );
  gate.release();
  t.like(await restarts.nth('x', 1, 30_000), { incarnation: 1, restarts: 1 });
  t.is(await within(cluster.worker<Sink>('x').inc(1), 5000, 'a call to x'), 2);
  t.deepEqual(
    exits.events.map((e) => [e.name, e.incarnation, e.reason]),
    [['x', 0, 'killed']],
  );
});

/*
 * A review's: a `worker-exit` listener that threw skipped the restart the event had announced
 * (`restarting: true`), and kill() waited for ever. The throw is the listener's; the cluster's own work is
 * done first.
 */
test('a worker-exit listener that throws stops neither the restart nor the kill() that caused it', async (t) => {
  const { stdout, code } = await runCoordinator(t, 'throwing-exit-listener-coordinator.ts');
  t.deepEqual(stdout.trim().split('\n').sort(), ['killed', 'restarted 2', 'seen dead 0', 'unhandled the listener threw']);
  t.is(code, 0);
});

/** Runs a coordinator fixture as its own process, to its end (30 s at most): what it printed, how it exited. */
async function runCoordinator(t: ExecutionContext, name: string): Promise<{ stdout: string; code: number | null }> {
  const child = spawn(process.execPath, [fileURLToPath(fixture(name))], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = ended(child).then(([code]) => code);
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const code = await within(exited, 30_000, `${name} to finish`);
  return { stdout, code };
}

/*
 * Regression: the restart delay was an unref'd timer, so while the only worker was down nothing held the
 * coordinator's event loop, and a coordinator whose work all happens in its workers exited during
 * restartDelayMs instead of restarting the worker.
 */
test('a coordinator with nothing else to do stays alive while its only worker restarts', async (t) => {
  const { stdout, code } = await runCoordinator(t, 'hardening-restart-coordinator.ts');
  t.is(stdout.trim(), 'restarted 2');
  t.is(code, 0);
});
