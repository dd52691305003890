/** Death of a worker process, by each cause: every call to it fails, once, and nothing else does. */
import test from 'ava';
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
