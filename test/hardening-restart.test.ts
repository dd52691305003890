/**
 * Restarts under concurrency (found by hardening-leaks.test.ts and scripts/soak.ts, issue 6): workers
 * that restart at the same time, die while being wired, or lose a peer while being wired must end up
 * connected to each other, like any pair of the mesh, without waiting out a timeout.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test, { type ExecutionContext } from 'ava';
import { notify, type Cluster, type Remote } from '../src/index.js';
import type { Sink } from './fixtures/hardening-sink.js';
import { eventLog, exitLog, fixture, pollUntil, startFor, within } from './helpers/cluster.js';

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

/** Waits until incarnation `incarnation` of `name` has loaded (stats show its pid): it is being wired, or ready. */
function loaded(cluster: Cluster, name: string, incarnation: number): Promise<void> {
  return pollUntil(
    async () => (await cluster.stats()).workers.some((w) => w.name === name && w.incarnation === incarnation && w.pid > 0),
    30_000,
    `${name}#${incarnation} loaded`,
  );
}

/*
 * Regression: Cluster#restart wired a new incarnation only to the workers 'ready' at that moment, and a
 * worker became ready only after its own wiring, so two workers restarting together skipped each other
 * and calls between them parked until startTimeoutMs, then failed for good. Restarts now wire one at a
 * time. Here the overlap is made certain: z blocks until both have loaded, so the connect calls to z —
 * and with them both wirings — wait for it.
 */
test('two workers restarting at the same time get a channel to each other', async (t) => {
  const cluster = await startFor(t, {
    ...PATIENT,
    workers: [
      { name: 'x', module: SINK, kind: 'thread', restart: 'on-failure' },
      { name: 'y', module: SINK, kind: 'process', restart: 'on-failure' },
      { name: 'z', module: SINK, kind: 'thread' },
    ],
  });
  const restarts = eventLog(cluster, 'worker-restart');
  const z = block(t, cluster.worker<Sink>('z'));
  await Promise.all([cluster.kill('x'), cluster.kill('y')]);
  await Promise.all([loaded(cluster, 'x', 1), loaded(cluster, 'y', 1)]);
  z.release();
  await Promise.all([restarts.nth('x', 1, 30_000), restarts.nth('y', 1, 30_000)]);
  const stats = await cluster.stats();
  const peersOf = (name: string) =>
    stats.workers
      .find((w) => w.name === name)!
      .peers.map((p) => p.peer)
      .sort();
  t.deepEqual(peersOf('x'), ['y', 'z'], 'x has a channel to y');
  t.deepEqual(peersOf('y'), ['x', 'z'], 'y has a channel to x');
  t.like(await within(cluster.worker<Sink>('x').tryCall('y', 'inc', [1]), 5000, 'x → y after the restarts'), { ok: true, value: 2 });
  t.like(await within(cluster.worker<Sink>('y').tryCall('x', 'inc', [2]), 5000, 'y → x after the restarts'), { ok: true, value: 3 });
});

/*
 * Regression (found by scripts/soak.ts --overlap-restarts: every call stalled for 30 s): a worker being
 * wired was not told of deaths — only ready workers were — so a restarting p waiting for t to dial it
 * waited out startTimeoutMs when t died first, and every other restart queued behind p's wiring. Here t
 * is blocked while p restarts, then exits without reading the plan to dial p.
 */
test('a restarting worker whose peer dies before connecting to it is told, and does not wait out startTimeoutMs', async (t) => {
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
  const blocked = block(t, cluster.worker<Sink>('t'), 3);
  await cluster.kill('p');
  await loaded(cluster, 'p', 1);
  blocked.release();
  t.like(await exits.nth('t', 1, 10_000), { incarnation: 0, reason: 'exit', exitCode: 3, restarting: true });
  // Told of t's death, p's wiring ends at once (not after startTimeoutMs); t's restart then wires t to p.
  t.like(await restarts.nth('p', 1, 10_000), { incarnation: 1 });
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
 * Regression: a worker that died while its restart was being wired was treated as a ready worker's death
 * — a 'worker-exit' for an incarnation never announced, and a second restart loop beside the first — and
 * the first loop, its wiring done without it, then marked the dead incarnation ready. The restart under
 * way now answers it alone, as a failed try.
 */
test('a worker that dies while its restart is being wired is restarted by that same restart, once', async (t) => {
  const cluster = await startFor(t, {
    ...PATIENT,
    workers: [
      { name: 'x', module: SINK, kind: 'thread', restart: 'on-failure' },
      { name: 'z', module: SINK, kind: 'thread' },
    ],
  });
  const exits = exitLog(cluster);
  const restarts = eventLog(cluster, 'worker-restart');
  // z is blocked: x's new incarnation loads, then its wiring waits for z.
  const z = block(t, cluster.worker<Sink>('z'));
  await cluster.kill('x');
  await loaded(cluster, 'x', 1);
  await cluster.kill('x');
  z.release();
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
 * Regression: the restart delay was an unref'd timer, so while the only worker was down nothing held the
 * coordinator's event loop, and a coordinator whose work all happens in its workers exited during
 * restartDelayMs instead of restarting the worker.
 */
test('a coordinator with nothing else to do stays alive while its only worker restarts', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(fixture('hardening-restart-coordinator.ts'))], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const code = await within(exited, 30_000, 'the coordinator process to finish');
  t.is(stdout.trim(), 'restarted 2');
  t.is(code, 0);
});
