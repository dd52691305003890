/**
 * Adversarial probes of how a worker's crash is reported: whatever it throws, its last words must encode
 * and arrive, so the exit is reported as a crash, once and quickly; an exception the worker survived is
 * no crash.
 */
import test, { type ExecutionContext } from 'ava';
import { type ClusterOptions, RemoteError, type Remote, WorkerDiedError, type WorkerExitEvent } from '../src/index.js';
import type { Hostile } from './fixtures/crash-probe.js';
import { exitLog, fixture, settle, startFor, within } from './helpers/cluster.js';

interface Probe {
  crashWith(what: Hostile): Promise<void>;
  survive(): Promise<void>;
  throwHuge(chars: number): Promise<void>;
  exitOnUncaught(exitCode: number): Promise<void>;
  rejectSoon(reason: string | number): Promise<void>;
  throwSoon(message: string): Promise<void>;
  exit(code: number): Promise<void>;
  exitThenHang(code: number): Promise<void>;
  sleep(ms: number): Promise<void>;
  ping(): Promise<string>;
}

const EXIT_MS = 10_000;

const HOSTILE: Record<Hostile, RegExp> = {
  'revoked-proxy': /^Unreadable error thrown/,
  'throwing-proxy': /^Unreadable error thrown/,
  'circular-cause': /^a$/,
  'deep-cause': /^9999$/,
  'deep-data': /^deep data$/,
  'deep-value': /^Non-error thrown: /,
  'throwing-getters': /^Unreadable error thrown/,
  null: /^Non-error thrown: null \(null\)$/,
  'bigint-data': /^with odd data$/,
};

/**
 * Starts `v` (of `kind`), leaves a call to it in flight, lets `crash` make it crash, and checks that
 * the call fails as a crash. Resolves to `v`'s exit event.
 */
async function crashWithCallInFlight(
  t: ExecutionContext,
  kind: 'thread' | 'process',
  crash: (v: Remote<Probe>) => Promise<void>,
  options: Partial<ClusterOptions> = {},
): Promise<WorkerExitEvent> {
  const cluster = await startFor(t, {
    ...options,
    workers: [{ name: 'v', module: fixture('crash-probe.ts'), kind }],
  });
  const log = exitLog(cluster);
  const v = cluster.worker<Probe>('v');
  const inFlight = settle(v.sleep(60_000));
  await crash(v);
  const exit = await log.nth('v', 1, EXIT_MS);
  t.like(exit, { name: 'v', reason: 'crash' });
  const died = await within(inFlight, EXIT_MS, 'the call in flight');
  t.true(!died.ok && died.error instanceof WorkerDiedError && died.error.reason === 'crash', String(!died.ok && died.error));
  return exit;
}

for (const kind of ['thread', 'process'] as const) {
  for (const [what, message] of Object.entries(HOSTILE) as [Hostile, RegExp][]) {
    test(`a ${kind} that throws a ${what} is reported as a crash that says so`, async (t) => {
      // No heartbeat or exit grace within the test's wait: the worker must finish exiting by itself.
      const exit = await crashWithCallInFlight(t, kind, (v) => v.crashWith(what), { heartbeatTimeoutMs: 60_000 });
      t.true(exit.error instanceof RemoteError, String(exit.error));
      t.regex(String(exit.error?.message), message);
    });
  }

  test(`a ${kind} that survived an uncaught exception through its own handler and then exits cleanly is no crash`, async (t) => {
    const cluster = await startFor(t, { workers: [{ name: 'v', module: fixture('crash-probe.ts'), kind }] });
    const log = exitLog(cluster);
    const v = cluster.worker<Probe>('v');
    await v.survive();
    await v.throwSoon('survived');
    // Still answering: the exception above did not end it.
    t.is(await v.ping(), 'pong');
    await v.exit(0);
    const exit = await log.nth('v', 1, EXIT_MS);
    t.like(exit, { name: 'v', reason: 'exit', exitCode: 0 });
    t.is(exit.error, undefined);
  });
}

for (const kind of ['thread', 'process'] as const) {
  test(`a ${kind} whose own uncaughtException handler exits is reported as a crash on that exception`, async (t) => {
    const cluster = await startFor(t, { workers: [{ name: 'v', module: fixture('crash-probe.ts'), kind }] });
    const log = exitLog(cluster);
    const v = cluster.worker<Probe>('v');
    await v.exitOnUncaught(3);
    await v.throwSoon('logged, then exit');
    const exit = await log.nth('v', 1, EXIT_MS);
    t.like(exit, { name: 'v', reason: 'crash', exitCode: 3 });
    t.is(exit.error?.message, 'logged, then exit');
  });

  test(`a ${kind} that dies of an unhandled rejection is reported as a crash with its reason`, async (t) => {
    const cluster = await startFor(t, {
      workers: [
        { name: 'error', module: fixture('crash-probe.ts'), kind },
        { name: 'value', module: fixture('crash-probe.ts'), kind },
      ],
    });
    const log = exitLog(cluster);
    await cluster.worker<Probe>('error').rejectSoon('rejected');
    await cluster.worker<Probe>('value').rejectSoon(42);
    const [byError, byValue] = await Promise.all([log.nth('error', 1, EXIT_MS), log.nth('value', 1, EXIT_MS)]);
    t.like(byError, { reason: 'crash', exitCode: 1 });
    t.is(byError.error?.message, 'rejected');
    t.like(byValue, { reason: 'crash', exitCode: 1 });
    // Node wraps a non-Error reason in an error that quotes it.
    t.regex(String(byValue.error?.message), /42/);
  });
}

for (const kind of ['thread', 'process'] as const) {
  test(`a ${kind} that hangs after its last words is stopped and reported as they said, not as hung`, async (t) => {
    // Default heartbeats: the exit grace and the hang verdict both take heartbeatTimeoutMs (3 s), so before
    // the grace counted from the last words, the heartbeat always came first.
    const cluster = await startFor(t, { workers: [{ name: 'v', module: fixture('crash-probe.ts'), kind }] });
    const log = exitLog(cluster);
    const v = cluster.worker<Probe>('v');
    const inFlight = settle(v.sleep(60_000));
    await v.exitThenHang(7);
    const exit = await log.nth('v', 1, EXIT_MS);
    t.like(exit, { name: 'v', reason: 'exit', exitCode: 7 });
    const died = await within(inFlight, EXIT_MS, 'the call in flight');
    t.true(!died.ok && died.error instanceof WorkerDiedError && died.error.reason === 'exit', String(!died.ok && died.error));
  });

  test(`a ${kind} that crashes on an error larger than a frame still reports the crash, with the error cut short`, async (t) => {
    const maxFrameBytes = 1 << 20;
    const exit = await crashWithCallInFlight(t, kind, (v) => v.throwHuge(maxFrameBytes), { maxFrameBytes });
    t.is(exit.exitCode, 1);
    const message = String(exit.error?.message);
    t.true(message.startsWith('xxxx') && message.length < maxFrameBytes / 4, `${message.length} characters`);
  });
}

test('a crash storm: 8 workers crash at once with calls in flight, some killed as they crash; each exit is reported once', async (t) => {
  const names = Array.from({ length: 8 }, (_, i) => `s${i}`);
  const cluster = await startFor(t, {
    workers: names.map((name, i) => ({ name, module: fixture('crash-probe.ts'), kind: i % 4 === 3 ? 'process' : 'thread' })),
  });
  const log = exitLog(cluster);
  const inFlight = names.map((name) => settle(cluster.worker<Probe>(name).sleep(60_000)));
  await Promise.all(names.map((name) => cluster.worker<Probe>(name).throwSoon(`storm ${name}`)));
  // A kill racing the crash of every other one.
  const kills = names.filter((_, i) => i % 2 === 1).map((name) => settle(cluster.kill(name)));
  const exits = await Promise.all(names.map((name) => log.nth(name, 1, EXIT_MS)));
  for (const [i, exit] of exits.entries()) {
    // A kill that lands first reports a kill; a crash reported says which error.
    t.true(['crash', 'killed'].includes(exit.reason), `${exit.name}: ${exit.reason}`);
    if (exit.reason === 'crash') t.is(exit.error?.message, `storm ${names[i]}`);
  }
  for (const died of await within(Promise.all(inFlight), EXIT_MS, 'the calls in flight')) {
    t.true(!died.ok && died.error instanceof WorkerDiedError, String(!died.ok && died.error));
  }
  await within(Promise.all(kills), EXIT_MS, 'the kills');
  await cluster.close();
  t.deepEqual(log.events.map((e) => e.name).sort(), [...names].sort(), 'one exit event each');
});
