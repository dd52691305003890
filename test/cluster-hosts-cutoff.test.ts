/**
 * A remote worker cut off on its own (the NATS server drops its connection, its agent's holds): its calls
 * fail `disconnected`, and so does its `worker-exit`, with no signal or exit code (its agent's stop, on the
 * coordinator's word, is not how it fared); it restarts. It used to read `crash` with SIGKILL.
 */
import test from 'ava';
import { notify } from '../src/index.js';
import type { RemoteCounter } from './fixtures/counter.js';
import { exitLog, fixture, settle, startFor, within } from './helpers/cluster.js';
import { startTestHosts } from './helpers/hosts.js';
import { failOnLeaks } from './helpers/leaks.js';

failOnLeaks(test);

test('a remote process cut off by the server as a slow consumer exits `disconnected`, with no signal, and restarts', async (t) => {
  const hosts = await startTestHosts(t, ['b'], {
    cluster: 'cutoff',
    server: { slowConsumer: { maxPendingBytes: 1 << 20, writeDeadline: '1s' } },
  });
  // Heartbeats slower than the server: the server cuts the stopped worker off first.
  const cluster = await startFor(t, {
    nats: hosts.nats,
    heartbeatIntervalMs: 1000,
    heartbeatTimeoutMs: 30_000,
    workers: [{ name: 'y', module: fixture('counter.ts'), host: 'b', kind: 'process', restart: 'on-failure' }],
  });
  const exits = exitLog(cluster);
  const y = cluster.worker<RemoteCounter>('y');
  const pid = await y.pid();
  t.teardown(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  });
  const inFlight = settle(y.sleep(60_000));
  process.kill(pid, 'SIGSTOP');
  // A flood it cannot read while stopped, past what the server holds for it: the server drops its
  // connection as a slow consumer (its agent's stays).
  const payload = 'x'.repeat(1000);
  await within(
    (async () => {
      for (let i = 0; i < 6000; i++) await notify(y).record(payload, i);
    })(),
    30_000,
    'the flood',
  );
  await hosts.server.line(/Slow Consumer/i, 30_000, 'the server dropping the stopped worker');
  // Its connection is gone: running again, it finds so, and its transports tell their peers.
  process.kill(pid, 'SIGCONT');
  const exit = await exits.nth('y', 1, 30_000);
  t.like(exit, { name: 'y', reason: 'disconnected', incarnation: 0, restarting: true });
  t.is(exit.signal, undefined, 'not the signal of its agent’s stop');
  t.is(exit.exitCode, undefined);
  const call = await within(inFlight, 10_000, 'the call in flight');
  t.false(call.ok);
  if (!call.ok) t.like(call.error, { reason: 'disconnected', mayHaveRun: true });
  t.is(await within(y.inc(1), 30_000, 'a call to the restarted worker'), 1);
});
