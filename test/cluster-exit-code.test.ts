/**
 * A worker thread that ends itself with process.exit(code) is reported with that code. Its port closes
 * (its last words sent) while the thread is still tearing down; the coordinator used to take that close
 * for a worker gone half-dead and terminate() it, and Node then reports terminate()'s exit code 1 instead
 * of the thread's own. A thread that never finishes exiting is still ended, and reported as its last
 * words said. A worker that crashes says with what, whatever it threw.
 */
import test from 'ava';
import { RemoteError, WorkerDiedError, notify } from '../src/index.js';
import type { Counter } from './fixtures/counter.js';
import { exitLog, fixture, settle, startFor, within } from './helpers/cluster.js';

test('a thread whose channel closes well before it has exited is reported with its own exit code', async (t) => {
  const cluster = await startFor(t, { workers: [{ name: 'v', module: fixture('counter.ts') }] });
  const log = exitLog(cluster);
  // 300 ms between its last words and its exit: the window a loaded machine opens, held open.
  void cluster
    .worker<Counter>('v')
    .exitSlowly(3, 300)
    .catch(() => {});
  t.like(await log.nth('v', 1, 10_000), { name: 'v', reason: 'exit', exitCode: 3, code: 3 });
});

for (const how of ['exit', 'crash'] as const) {
  test(`a thread that said its last words (${how}) but never finishes exiting is stopped after heartbeatTimeoutMs, its death the one it told`, async (t) => {
    const cluster = await startFor(t, {
      heartbeatIntervalMs: 100,
      heartbeatTimeoutMs: 1000,
      workers: [{ name: 'v', module: fixture('counter.ts') }],
    });
    const log = exitLog(cluster);
    const v = cluster.worker<Counter>('v');
    const inFlight = settle(v.sleep(600_000));
    void (how === 'exit' ? v.exitSlowly(3, 600_000) : v.crashSlowly(600_000)).catch(() => {});
    // Far inside its 10 minutes: only the coordinator can end it this soon. Hanging while it exits does
    // not make it hung: its exit code is the one it was exiting with, not terminate()'s.
    const exit = await log.nth('v', 1, 30_000);
    if (how === 'exit') t.like(exit, { name: 'v', reason: 'exit', exitCode: 3 });
    else {
      t.like(exit, { name: 'v', reason: 'crash', exitCode: 1 });
      t.is(exit.error?.message, 'boom, slowly');
    }
    const died = await within(inFlight, 10_000, 'the call in flight');
    t.true(!died.ok && died.error instanceof WorkerDiedError && died.error.reason === how, String(!died.ok && died.error));
  });
}

for (const kind of ['thread', 'process'] as const) {
  test(`a ${kind} that crashes on an error the codec cannot carry whole, or on a thrown string, still says what it threw`, async (t) => {
    const cluster = await startFor(t, {
      workers: [
        { name: 'hostile', module: fixture('counter.ts'), kind },
        { name: 'value', module: fixture('counter.ts'), kind },
      ],
    });
    const log = exitLog(cluster);
    const expected = {
      // The function is left behind, the rest of the error goes: its last words must encode.
      hostile: { message: 'boom', data: { code: 'E_BOOM' } },
      value: { message: 'Non-error thrown: "not an error" (string)', data: {} },
    };
    for (const [name, { message, data }] of Object.entries(expected)) {
      const worker = cluster.worker<Counter>(name);
      // Caught now: it fails as the worker dies, before the exit event this test waits for first.
      const inFlight = settle(worker.sleep(60_000));
      await worker.throwLater(name as 'hostile' | 'value');
      const exit = await log.nth(name, 1, 10_000);
      t.like(exit, { name, reason: 'crash', exitCode: 1 });
      t.true(exit.error instanceof RemoteError, String(exit.error));
      t.is(exit.error?.message, message);
      t.deepEqual({ ...(exit.error as RemoteError).data }, data);
      const died = await within(inFlight, 10_000, 'the call in flight');
      t.true(!died.ok && died.error instanceof WorkerDiedError, String(died));
      const diedMessage = died.ok ? '' : (died.error as Error).message;
      t.true(diedMessage.includes(`, uncaught Error: ${message}`), diedMessage);
    }
  });
}

for (const kind of ['thread', 'process'] as const) {
  test(`a ${kind}'s crash reaches its peers with the error as it threw it: its class name and data, not the coordinator's RemoteError`, async (t) => {
    const cluster = await startFor(t, {
      workers: [
        { name: 'v', module: fixture('counter.ts'), kind },
        { name: 'w', module: fixture('counter.ts'), kind: 'thread' },
      ],
    });
    const w = cluster.worker<Counter>('w');
    // w never opened a channel to v: the coordinator's word is the only one it hears.
    const heard = w.waitPeerExit('v');
    await cluster.worker<Counter>('v').throwLater('hostile');
    const exit = await within(heard, 10_000, "w's peer-exit event");
    t.like(exit, { name: 'v', reason: 'crash', exitCode: 1, code: 1, restarting: false });
    // Passed on as the coordinator rebuilt it, it read RemoteError, with the original's fields in its data.
    t.deepEqual(exit.error, { class: 'RemoteError', message: 'boom', remoteName: 'Error', data: { code: 'E_BOOM' } });
  });
}

test('threads that crash while the coordinator is busy are reported from their last words, not from whichever of exit or port came first', async (t) => {
  // Busy, the coordinator finds a thread's exit and its port's last message waiting together, and
  // takes the exit first about as often as not: the exit event must still wait for the last words.
  const names = Array.from({ length: 8 }, (_, i) => `v${i}`);
  const cluster = await startFor(t, { workers: names.map((name) => ({ name, module: fixture('counter.ts') })) });
  const log = exitLog(cluster);
  for (const name of names) void notify(cluster.worker<Counter>(name)).throwLater();
  const until = performance.now() + 500;
  while (performance.now() < until) {
    // Blocked on purpose: the threads crash and exit meanwhile.
  }
  for (const name of names) {
    const exit = await log.nth(name, 1, 10_000);
    t.like(exit, { name, reason: 'crash', exitCode: 1 });
    t.true(exit.error instanceof RemoteError, `${name}: ${String(exit.error)}`);
  }
});
