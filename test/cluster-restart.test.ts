/**
 * restart: 'on-failure': a worker that fails comes back as a new incarnation; calls pending on the old
 * one fail (at-most-once), calls made meanwhile wait for the new one, in order, and peers reach it too.
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TimeoutError, WorkerDiedError, withOptions, type WorkerRestartEvent } from '../src/index.js';
import type { CallOutcome, Counter } from './fixtures/counter.js';
import { exitLog, fixture, handled, pidAlive, settle, startFor, within } from './helpers/cluster.js';

/**
 * For an exit, a restart, a call parked across one. A restart is a spawn and a module load: ~0.6 s for a
 * process on a quiet machine, over 10 s at load 40-60. What a bug gives is never.
 */
const EVENT_MS = 40_000;
/**
 * A call to a worker that will not come back must fail without waiting: a call parked for a restart
 * that never comes would wait startTimeoutMs (30 s) for it.
 */
const AT_ONCE_MS = 10_000;
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

for (const [kind, peerKind] of [
  ['process', 'thread'],
  ['thread', 'process'],
] as const) {
  test(`a ${kind} worker that fails (${kind === 'process' ? 'SIGKILL' : 'exit(9)'}) is restarted; the ${peerKind} peer and the coordinator reach the new incarnation`, async (t) => {
    const cluster = await startFor(t, {
      restartDelayMs: 50,
      workers: [
        { name: 'r', module: fixture('counter.ts'), kind, restart: 'on-failure' },
        { name: 'w', module: fixture('counter.ts'), kind: peerKind },
      ],
    });
    const log = exitLog(cluster);
    const r = cluster.worker<Counter>('r');
    const w = cluster.worker<Counter>('w');
    const restarted = within(
      new Promise<WorkerRestartEvent>((resolve) => cluster.once('worker-restart', resolve)),
      EVENT_MS,
      'worker-restart',
    );
    const first = (await cluster.stats()).workers[0]!;
    t.like(first, { name: 'r', incarnation: 0, restarts: 0, state: 'ready' });
    t.is(await r.inc(5), 5);

    // Pending on the old incarnation, from the coordinator and from the peer (both behind answered barriers).
    const pending = settle(r.sleep(60_000));
    await r.inc(0);
    const peerCall = await w.startCall('r', 'sleep', [60_000]);
    t.like(await w.tryCall('r', 'inc', [0]), { outcome: { ok: true } });

    // Calls made while it restarts: issued from the 'worker-exit' listener, when the old one is known dead.
    const N = 20;
    let duringRestart: Promise<unknown>[] = [];
    let stateAtExit = '';
    let peerDuring: Promise<{ outcome: CallOutcome }> | undefined;
    cluster.once('worker-exit', () => {
      const calls: Promise<unknown>[] = [r.inc(1), ...range(N).map((seq) => r.record('coordinator', seq)), r.pid()];
      duringRestart = calls.map(handled);
      // The peer, once told of the restart, calls r: that call waits for (or finds) the new incarnation.
      peerDuring = handled(w.waitPeerExit('r').then(() => w.tryCall('r', 'pid', [])));
      void handled(cluster.stats().then((s) => (stateAtExit = s.workers[0]!.state)));
    });

    if (kind === 'process') process.kill(first.pid, 'SIGKILL');
    else void r.exit(9).catch(() => {});

    const exit = await log.nth('r', 1, EVENT_MS);
    t.like(exit, { name: 'r', incarnation: 0, restarting: true, reason: kind === 'process' ? 'crash' : 'exit' });
    if (kind === 'process') t.is(exit.signal, 'SIGKILL');
    else t.is(exit.exitCode, 9);

    const old = await within(pending, EVENT_MS, 'the call pending on the old incarnation');
    t.false(old.ok, 'the call pending on the old incarnation failed');
    if (!old.ok) {
      t.true(old.error instanceof WorkerDiedError);
      t.like(old.error, { code: 'ERR_CONVOY_WORKER_DIED', worker: 'r' });
    }
    t.like(await within(w.callResult(peerCall), EVENT_MS, "the peer's call pending on the old incarnation"), {
      ok: false,
      code: 'ERR_CONVOY_WORKER_DIED',
      worker: 'r',
    });

    const event = await restarted;
    t.like(event, { name: 'r', incarnation: 1, restarts: 1, kind });
    t.not(stateAtExit, 'ready', 'stats() does not show the restarting worker as ready');

    // The calls made meanwhile waited and landed on the new incarnation (fresh state), in order.
    const results = await within(Promise.all(duringRestart), EVENT_MS, 'calls made during the restart');
    t.is(results[0], 1, 'inc(1) ran on the new incarnation, whose counter started at 0');
    t.deepEqual(await r.seen('coordinator'), range(N), 'calls parked during the restart kept their order');
    const newPid = results.at(-1) as number;
    if (kind === 'process') {
      t.not(newPid, first.pid, 'a new process');
      t.is(event.pid, newPid);
      t.false(pidAlive(first.pid), 'the old process is gone');
    } else {
      t.not(event.threadId, first.threadId, 'a new thread');
    }

    // Peers reach the new incarnation, and it reaches them.
    const peerResult = await within(peerDuring!, EVENT_MS, "the peer's call made during the restart");
    t.like(peerResult.outcome, { ok: true, value: newPid }, "the peer's call during the restart landed on the new incarnation");
    t.like(await w.tryCall('r', 'inc', [10]), { outcome: { ok: true, value: 11 } });
    t.is(await r.relay('w', 3), 3);
    t.like(await w.waitPeerExit('r'), { name: 'r', restarting: true });

    const after = (await cluster.stats()).workers[0]!;
    t.like(after, { name: 'r', incarnation: 1, restarts: 1, state: 'ready' });
    t.is(log.events.length, 1, 'one exit event');
  });
}

test('no restart after a clean exit (code 0), and none past maxRestarts: then calls fail for good', async (t) => {
  const cluster = await startFor(t, {
    restartDelayMs: 20,
    workers: [
      { name: 'clean', module: fixture('counter.ts'), restart: 'on-failure' },
      { name: 'once', module: fixture('counter.ts'), restart: 'on-failure', maxRestarts: 1 },
    ],
  });
  const log = exitLog(cluster);
  const clean = cluster.worker<Counter>('clean');
  const once = cluster.worker<Counter>('once');

  void clean.exit(0).catch(() => {});
  t.like(await log.nth('clean', 1, EVENT_MS), { reason: 'exit', exitCode: 0, restarting: false });
  const error = await within(settle(clean.inc(1)), AT_ONCE_MS, 'a call to the cleanly exited worker');
  t.false(error.ok);
  if (!error.ok) t.like(error.error, { code: 'ERR_CONVOY_WORKER_DIED', worker: 'clean', reason: 'exit' });

  const restarted = within(new Promise((resolve) => cluster.once('worker-restart', resolve)), EVENT_MS, 'worker-restart');
  await cluster.kill('once');
  t.like(await log.nth('once', 1, EVENT_MS), { reason: 'killed', restarting: true });
  t.like(await restarted, { name: 'once', restarts: 1 });
  t.is(await once.inc(2), 2);

  await cluster.kill('once');
  t.like(await log.nth('once', 2, EVENT_MS), { reason: 'killed', restarting: false, incarnation: 1 });
  const later = await within(settle(once.inc(1)), AT_ONCE_MS, 'a call after the last restart');
  t.false(later.ok);
  if (!later.ok) t.like(later.error, { code: 'ERR_CONVOY_WORKER_DIED', worker: 'once', reason: 'killed' });
  t.like((await cluster.stats()).workers, [
    { name: 'clean', state: 'dead' },
    { name: 'once', state: 'dead', restarts: 1 },
  ]);
});

// Regression: a failed restart attempt's exit used to reach #onDeath as a new death of a ready worker,
// so a worker given up was announced dead several times and spawned again. A failed start is now not
// a death; the give-up is announced once, as the terminal worker-exit (restarting: false).
test('a restart that keeps failing ends in one terminal death, and no spawn after it', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'convoy-restart-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cluster = await startFor(t, {
    restartDelayMs: 200,
    maxRestarts: 2,
    workers: [
      {
        name: 'f',
        module: fixture('fails-after-first.ts'),
        restart: 'on-failure',
        env: { CONVOY_TEST_MARKER: path.join(dir, 'started') },
      },
      { name: 'w', module: fixture('counter.ts') },
    ],
  });
  const log = exitLog(cluster);
  void cluster
    .worker<{ exit(code: number): void }>('f')
    .exit(1)
    .catch(() => {});
  t.like(await log.nth('f', 1, EVENT_MS), { incarnation: 0, restarting: true });
  const firstExitAt = performance.now();
  // Restart attempts fail (the factory throws from the second start on) until the worker is given up.
  await within(
    new Promise<void>((resolve) => {
      const check = (): void => {
        if (log.events.some((e) => e.name === 'f' && !e.restarting)) resolve();
      };
      cluster.on('worker-exit', check);
      check();
    }),
    EVENT_MS,
    'the terminal worker-exit',
  );
  // Two backoffs and two failed starts, as long as they take on this machine now.
  const twoAttemptsMs = performance.now() - firstExitAt;
  const { incarnation } = (await cluster.stats()).workers[0]!;
  // Window for a stray restart: its backoff (2 × 200 ms) and a start, with slack — at least as long as the
  // two attempts before it took, so a loaded machine, slower to start a thread, gets a longer look.
  const strayWindowMs = Math.max(4000, twoAttemptsMs);
  t.log(`two failed attempts took ${twoAttemptsMs.toFixed(0)} ms; watching ${strayWindowMs.toFixed(0)} ms for a stray one`);
  const stray = await settle(log.nth('f', log.events.filter((e) => e.name === 'f').length + 1, strayWindowMs));
  t.false(stray.ok, `no worker-exit after the terminal one${stray.ok ? `: got ${JSON.stringify(stray.value)}` : ''}`);
  const after = (await cluster.stats()).workers[0]!;
  t.like(after, { name: 'f', state: 'dead', incarnation }, 'no incarnation started after the terminal death');
  const terminalPeerExits = (await cluster.worker<Counter>('w').peerExits()).filter((e) => e.name === 'f' && !e.restarting);
  t.is(terminalPeerExits.length, 1, `peers told once: ${JSON.stringify(terminalPeerExits)}`);
  // The terminal exit says why: the restarts gave up, on the last start's failure (the factory's throw).
  const terminal = log.events.find((e) => e.name === 'f' && !e.restarting)!;
  t.regex(terminal.error?.message ?? '', /^Gave up after 2 restarts$/);
  t.regex(String((terminal.error?.cause as Error | undefined)?.message), /the defineWorker\(\) factory threw/);
});

const timers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

// Serial: it counts this process's timers, so no other test may run beside it.
test.serial('close() during a long restart backoff ends it at once: no restart, no timer left, parked calls fail', async (t) => {
  const timersBefore = timers();
  const cluster = await startFor(t, {
    restartDelayMs: 60_000,
    workers: [{ name: 'w', module: fixture('counter.ts'), restart: 'on-failure' }],
  });
  const log = exitLog(cluster);
  let restarted = false;
  cluster.on('worker-restart', () => (restarted = true));
  await cluster.kill('w');
  t.like(await log.nth('w', 1, EVENT_MS), { restarting: true });
  // Made while the worker waits out its 60 s backoff: parked until the restart, which never comes.
  const parked = settle(cluster.worker<Counter>('w').inc(1));
  const started = performance.now();
  await within(cluster.close(), 5000, 'close() during the backoff');
  const closeMs = performance.now() - started;
  t.true(closeMs < 5000, `closed in ${closeMs.toFixed(0)} ms, not after the 60 s delay`);
  const outcome = await within(parked, 5000, 'the parked call');
  t.false(outcome.ok, 'the parked call failed');
  t.false(restarted);
  // The backoff's 60 s timer is gone: it would keep a closed coordinator's process alive for a minute.
  await new Promise((resolve) => setImmediate(resolve));
  t.is(timers(), timersBefore, 'no timer left behind');
});

// A review's: a call that waited for the restart went on with the time it had left as its timeout, and its
// TimeoutError named that (`timeoutMs: 2799.77…`, "timed out after 98.30114600000002 ms").
test('a call that waited for a restart and then times out names the timeout it was given', async (t) => {
  const cluster = await startFor(t, {
    restartDelayMs: 200,
    workers: [{ name: 'w', module: fixture('counter.ts'), restart: 'on-failure' }],
  });
  await cluster.kill('w');
  // Made while w restarts: it waits, then is sent with what is left of its 2 s, and runs out in the sleep.
  const error = await within(
    withOptions(cluster.worker<Counter>('w'), { timeoutMs: 2000 })
      .sleep(30_000)
      .then(
        () => undefined,
        (e: unknown) => e,
      ),
    20_000,
    'the call timing out',
  );
  t.true(error instanceof TimeoutError, String(error));
  t.like(error, { code: 'ERR_CONVOY_TIMEOUT', timeoutMs: 2000, message: 'Call to `sleep` on worker "w" timed out after 2000 ms' });
});
