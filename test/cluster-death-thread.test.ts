/**
 * Death of a worker thread, by each cause: every call to it fails, once, and nothing else does — with the
 * thread's channels on its MessagePort and on shared-memory rings.
 */
import test from 'ava';
import { THREAD_TRANSPORTS } from './helpers/cluster.js';
import { runDeathScenario } from './helpers/death-scenario.js';

const DEATH_MS = 5000;

for (const { label, options } of THREAD_TRANSPORTS) {
  test.serial(`${label}: thread calls process.exit(3) inside a handler`, (t) =>
    runDeathScenario(t, {
      options,
      victim: 'thread',
      peer: 'thread',
      trigger: ({ v }) => v.exit(3),
      triggerDies: true,
      reason: 'exit',
      exitCode: 3,
      queuedMustFail: false,
      deathMs: DEATH_MS,
    }),
  );

  test.serial(`${label}: thread throws an uncaught error (throwLater)`, (t) =>
    runDeathScenario(t, {
      options,
      victim: 'thread',
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

  test.serial(`${label}: thread killed with cluster.kill()`, (t) =>
    runDeathScenario(t, {
      options,
      victim: 'thread',
      peer: 'process',
      trigger: ({ cluster }) => cluster.kill('v'),
      triggerDies: false,
      reason: 'killed',
      // terminate()'s code is not the thread's: none is given.
      exitCode: undefined,
      queuedMustFail: true,
      deathMs: DEATH_MS,
    }),
  );

  test.serial(`${label}: hung thread (busy loop) is found by heartbeats and ended`, (t) =>
    runDeathScenario(t, {
      victim: 'thread',
      peer: 'thread',
      options: { ...options, heartbeatIntervalMs: 100, heartbeatTimeoutMs: 2000 },
      trigger: ({ v }) => v.hang(),
      triggerDies: true,
      reason: 'heartbeat',
      exitCode: undefined,
      queuedMustFail: false,
      deathMs: 2000 + DEATH_MS,
    }),
  );
}
