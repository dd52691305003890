/**
 * Restarts under concurrency (found by hardening-leaks.test.ts, issue 6): workers that restart at the
 * same time must end up connected to each other, like any pair of the mesh.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { notify, type WorkerRestartEvent } from '../src/index.js';
import type { Sink } from './fixtures/hardening-sink.js';
import { fixture, startFor, within } from './helpers/cluster.js';

const SINK = fixture('hardening-sink.ts');

/*
 * Regression: Cluster#restart wired a new incarnation only to the workers 'ready' at that moment, and a
 * worker became ready only after its own wiring, so two workers restarting together skipped each other
 * and calls between them parked until startTimeoutMs, then failed for good. Restarts now wire one at a
 * time. Here the overlap is made certain: the coordinator's channel to z is held full for 8 s by one
 * notify bigger than the window whose handler sleeps, so the connect calls to z — and with them both
 * wirings — wait for it.
 */
test('two workers restarting at the same time get a channel to each other', async (t) => {
  const cluster = await startFor(t, {
    restartDelayMs: 10,
    maxQueuedBytes: 64 * 1024,
    workers: [
      { name: 'x', module: SINK, kind: 'thread', restart: 'on-failure' },
      { name: 'y', module: SINK, kind: 'process', restart: 'on-failure' },
      { name: 'z', module: SINK, kind: 'thread' },
    ],
  });
  const restarts: WorkerRestartEvent[] = [];
  const bothRestarted = new Promise<void>((resolve) =>
    cluster.on('worker-restart', (event) => {
      restarts.push(event);
      if (restarts.length === 2) resolve();
    }),
  );
  const z = cluster.worker<Sink>('z');
  await z.inc(0);
  // Its acknowledgement waits for the handler: for 8 s no call from the coordinator reaches z (pings do).
  void notify(z).sleep(8000, 'h'.repeat(100 * 1024));
  await Promise.all([cluster.kill('x'), cluster.kill('y')]);
  await within(bothRestarted, 30_000, 'both restarts');
  const stats = await cluster.stats();
  const peersOf = (name: string) => stats.workers.find((w) => w.name === name)!.peers.map((p) => p.peer).sort();
  t.deepEqual(peersOf('x'), ['y', 'z'], 'x has a channel to y');
  t.deepEqual(peersOf('y'), ['x', 'z'], 'y has a channel to x');
  t.like(await within(cluster.worker<Sink>('x').tryCall('y', 'inc', [1]), 5000, 'x → y after the restarts'), { ok: true, value: 2 });
  t.like(await within(cluster.worker<Sink>('y').tryCall('x', 'inc', [2]), 5000, 'y → x after the restarts'), { ok: true, value: 3 });
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
