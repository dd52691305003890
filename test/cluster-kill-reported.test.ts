/**
 * `await cluster.kill(name)` resolves once the death is reported: its `worker-exit` has been emitted and
 * the worker reads `dead` at once. It used to resolve when the child had exited, a little before the
 * report (which waits for the control channel's last frames), and a close() right after it dropped the
 * death: no worker-exit, no dead worker on a held dashboard (1 run in 3 here).
 */
import test from 'ava';
import type { WorkerExitEvent } from '../src/index.js';
import type { RemoteCounter } from './fixtures/counter.js';
import { exitLog, fixture, startFor, within } from './helpers/cluster.js';
import { HOST_HEALTH, startTestHosts } from './helpers/hosts.js';

const ROUNDS = 6;

test(`kill() then close() at once: the kill's worker-exit is always emitted first (${ROUNDS} rounds, a thread and a process)`, async (t) => {
  for (let round = 0; round < ROUNDS; round++) {
    const cluster = await startFor(t, {
      workers: [
        { name: 't', module: fixture('counter.ts'), kind: 'thread' },
        { name: 'p', module: fixture('counter.ts'), kind: 'process' },
      ],
    });
    const exits: WorkerExitEvent[] = [];
    cluster.on('worker-exit', (event) => exits.push(event));
    const name = round % 2 ? 't' : 'p';
    await cluster.kill(name);
    t.like(exits[0], { name, reason: 'killed', restarting: false }, `round ${round}: ${name}'s worker-exit came before kill() resolved`);
    t.is((await cluster.stats()).workers.find((worker) => worker.name === name)?.state, 'dead');
    await cluster.close();
    t.is(exits.length, 1);
  }
});

test('kill() of a remote worker waiting to restart on a host that is down resolves at once: there is nothing to end', async (t) => {
  const hosts = await startTestHosts(t, ['b'], { cluster: 'kill-restarting' });
  const cluster = await startFor(t, {
    nats: hosts.nats,
    ...HOST_HEALTH,
    restartDelayMs: 10,
    workers: [{ name: 'w', module: fixture('counter.ts'), host: 'b', restart: 'on-failure' }],
  });
  t.is(await cluster.worker<RemoteCounter>('w').inc(1), 1);
  const exits = exitLog(cluster);
  hosts.agents.get('b')!.child.kill('SIGKILL');
  t.like(await exits.nth('w', 1, 20_000), { reason: 'disconnected', restarting: true });
  // Its restart waits for host b: kill() used to wait for the death of that next incarnation, for good.
  await within(cluster.kill('w'), 5000, 'kill() of a worker waiting for its host');
  t.pass();
});

// A review's: a death whose calls had already failed (a hang, a crash, an exit, a kill not awaited) and a
// close() right after that failure dropped the death: no worker-exit (39 runs of 40), though the calls
// had said it died. Such a death is reported before the close goes on. And stats() read such a worker
// `ready` until its death was reported.
for (const kind of ['thread', 'process'] as const) {
  for (const death of ['hang', 'crash', 'exit', 'kill'] as const) {
    test(`${kind}: a ${death} whose call has failed, then close() at once: its worker-exit is emitted`, async (t) => {
      const cluster = await startFor(t, {
        workers: [{ name: 'w', module: fixture('counter.ts'), kind, restart: 'on-failure' }],
        // Short only where the hang is the subject: elsewhere a loaded machine's pause would be one.
        ...(death === 'hang' ? { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 1500 } : {}),
      });
      const exits: WorkerExitEvent[] = [];
      cluster.on('worker-exit', (event) => exits.push(event));
      const w = cluster.worker<RemoteCounter>('w');
      const inFlight = death === 'hang' ? w.hang() : w.sleep(30_000);
      if (death !== 'hang') await w.inc(0); // the sleep has started
      if (death === 'crash') w.throwLater().catch(() => {});
      else if (death === 'exit') w.exit(3).catch(() => {});
      else if (death === 'kill') void cluster.kill('w');
      const failed = await within(
        inFlight.then(
          () => undefined,
          (error: { reason?: string }) => error,
        ),
        10_000,
        'the call in flight failing',
      );
      const reason = { hang: 'heartbeat', crash: 'crash', exit: 'exit', kill: 'killed' }[death];
      t.like(failed, { reason });
      // Its calls have failed: stats() no longer reads it ready, though its worker-exit may not be out yet.
      t.not((await cluster.stats()).workers[0]!.state, 'ready');
      await cluster.close();
      t.is(exits.length, 1, JSON.stringify(exits));
      // Not restarting, unless it was reported before close() was called (then its restart was cancelled).
      t.like(exits[0], { name: 'w', reason });
    });
  }
}

// A fuzz review's: kill() landing after a worker's last words (it is exiting by itself) but before its exit
// was handled reported the death as `killed`, which the calls had reported as `exit`, and restarted a
// worker that had finished with code 0.
for (const kind of ['thread', 'process'] as const) {
  test(`${kind}: kill() of a worker that is exiting by itself reports its own exit, and an exit with 0 is not restarted`, async (t) => {
    const cluster = await startFor(t, {
      restartDelayMs: 10,
      workers: [{ name: 'w', module: fixture('counter.ts'), kind, restart: 'on-failure' }],
    });
    const exits = exitLog(cluster);
    const w = cluster.worker<RemoteCounter>('w');
    await w.inc(0);
    // Its last words leave and its channel closes, and it exits only 2 s later: the kill lands between.
    const failed = await t.throwsAsync(w.exitSlowly(0, 2000));
    t.like(failed, { reason: 'exit' });
    await within(cluster.kill('w'), 10_000, 'kill() of a worker exiting by itself');
    t.like(await exits.nth('w', 1, 10_000), { reason: 'exit', exitCode: 0, restarting: false });
    t.is((await cluster.stats()).workers[0]!.state, 'dead');
  });
}
