/** Death of a worker process, by each cause: every call to it fails, once, and nothing else does. */
import test from 'ava';
import type { Counter } from './fixtures/counter.js';
import { notify } from '../src/index.js';
import { eventLog, exitLog, fixture, rejection, startFor, within } from './helpers/cluster.js';
import { runDeathScenario } from './helpers/death-scenario.js';

const DEATH_MS = 5000;

test.serial('process calls process.exit(3) inside a handler', (t) =>
  runDeathScenario(t, {
    victim: 'process',
    peer: 'thread',
    trigger: ({ v }) => v.exit(3),
    triggerDies: true,
    reason: 'exit',
    exitCode: 3,
    queuedMustFail: false,
    deathMs: DEATH_MS,
  }),
);

test.serial('process throws an uncaught error (throwLater)', (t) =>
  runDeathScenario(t, {
    victim: 'process',
    peer: 'process',
    trigger: ({ v }) => v.throwLater(),
    triggerDies: false,
    reason: 'crash',
    exitCode: 1,
    uncaught: 'boom',
    queuedMustFail: false,
    deathMs: DEATH_MS,
  }),
);

test.serial('process SIGKILLed from outside (process.kill(pid))', (t) =>
  runDeathScenario(t, {
    victim: 'process',
    peer: 'process',
    trigger: async ({ pid }) => process.kill(pid, 'SIGKILL'),
    triggerDies: false,
    reason: 'crash',
    signal: 'SIGKILL',
    // Sent in the same turn as the signal: the process may, in theory, still have answered it.
    queuedMustFail: false,
    deathMs: DEATH_MS,
  }),
);

test.serial('process killed with cluster.kill()', (t) =>
  runDeathScenario(t, {
    victim: 'process',
    peer: 'thread',
    trigger: ({ cluster }) => cluster.kill('v'),
    triggerDies: false,
    reason: 'killed',
    signal: 'SIGKILL',
    queuedMustFail: true,
    deathMs: DEATH_MS,
  }),
);

test.serial('hung process (busy loop) is found by heartbeats and ended', (t) =>
  runDeathScenario(t, {
    victim: 'process',
    peer: 'process',
    options: { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 2000 },
    trigger: ({ v }) => v.hang(),
    triggerDies: true,
    reason: 'heartbeat',
    signal: 'SIGKILL',
    queuedMustFail: false,
    deathMs: 2000 + DEATH_MS,
  }),
);

test.serial("the coordinator's calls to a process SIGKILLed from outside carry crash/SIGKILL, kill after kill", async (t) => {
  // The channel's close and the exit come in either order; in about one kill of four the exit came first,
  // and the calls failed as `disconnected` (no signal) while the worker-exit said crash/SIGKILL.
  const cluster = await startFor(t, {
    restartDelayMs: 10,
    workers: [{ name: 'p', module: fixture('counter.ts'), kind: 'process', restart: 'on-failure', maxRestarts: 100 }],
  });
  const restarts = eventLog(cluster, 'worker-restart');
  const p = cluster.worker<Counter>('p');
  const KILLS = 10;
  for (let kill = 1; kill <= KILLS; kill++) {
    const pid = await within(p.pid(), 10_000, 'its pid');
    const pending = [p.sleep(60_000), p.sleep(60_000)];
    await within(p.inc(0), 10_000, 'a barrier: the calls before it were served'); // they have left
    process.kill(pid, 'SIGKILL');
    for (const error of await Promise.all(pending.map((call) => rejection(call, DEATH_MS, 'a call to the killed process')))) {
      t.like(error, { code: 'ERR_CONVOY_WORKER_DIED', reason: 'crash', signal: 'SIGKILL', mayHaveRun: true }, `kill ${kill}`);
    }
    await restarts.nth('p', kill, 40_000);
  }
});

test.serial('a process that crashes while a busy coordinator floods it is reported with its error, crash after crash', async (t) => {
  // A process that exits with bytes it has not read resets its TCP connection, and the reset discards its
  // last words if the coordinator, busy, had not read them yet: the crash was reported as a plain
  // `exit` with code 1 and no error in about 4 runs of 10. Its last words come over IPC too.
  const cluster = await startFor(t, {
    restartDelayMs: 10,
    workers: [{ name: 'p', module: fixture('counter.ts'), kind: 'process', restart: 'on-failure', maxRestarts: 100 }],
  });
  const exits = exitLog(cluster);
  const p = cluster.worker<Counter>('p');
  const CRASHES = 8;
  for (let crash = 1; crash <= CRASHES; crash++) {
    await within(p.pid(), 10_000, 'the incarnation is up');
    const pending = p.sleep(60_000);
    await p.throwLater();
    // Until its death is seen: a burst the process will not have read, then a turn this side is busy.
    const deadline = Date.now() + DEATH_MS;
    while (exits.events.length < crash && Date.now() < deadline) {
      for (let k = 0; k < 2000; k++) void notify(p).record('coordinator', k);
      const busyUntil = Date.now() + 20;
      while (Date.now() < busyUntil);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const exit = await exits.nth('p', crash, DEATH_MS);
    t.like(exit, { reason: 'crash', exitCode: 1, error: { message: 'boom' } }, `crash ${crash}`);
    t.like(await rejection(pending, DEATH_MS, 'a call to the crashed process'), { reason: 'crash', exitCode: 1 }, `crash ${crash}`);
  }
});
