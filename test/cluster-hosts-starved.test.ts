/**
 * A worker on another host that stops reading for a while (its host starved of CPU, stopped) is judged by
 * convoy's heartbeat alone: while it is silent for less than `heartbeatTimeoutMs`, what its callers sent
 * waits at the NATS server, and once it reads again every message arrives, once and in order. The server
 * must not cut it off first: nats-server drops a client that has not read for its `write_deadline` (10 s
 * unless configured) as a slow consumer, which the test servers set longer than any heartbeat timeout.
 */
import test from 'ava';
import { notify } from '../src/index.js';
import type { RemoteCounter } from './fixtures/counter.js';
import { exitLog, fixture, startFor, within } from './helpers/cluster.js';
import { deferred, nextTurn } from './helpers/deadline.js';
import { startTestHosts } from './helpers/hosts.js';
import { failOnLeaks } from './helpers/leaks.js';

failOnLeaks(test);

const counter = fixture('counter.ts');
/** Past nats-server's default `write_deadline`: long enough to be cut off by a server left at its defaults. */
const STOPPED_MS = 11_000;
const DEADLINE_MS = 60_000;

test('a worker whose host stops reading past the server’s default write deadline, within the heartbeat timeout, loses nothing', async (t) => {
  t.timeout(120_000);
  const hosts = await startTestHosts(t, ['c'], { cluster: 'starved' });
  const cluster = await startFor(t, {
    nats: hosts.nats,
    heartbeatIntervalMs: 500,
    heartbeatTimeoutMs: 45_000,
    workers: [{ name: 'receiver', module: counter, host: 'c' }],
  });
  const exits = exitLog(cluster);
  const receiver = cluster.worker<RemoteCounter>('receiver');
  const agent = hosts.agents.get('c')!;
  agent.child.kill('SIGSTOP');
  t.teardown(() => agent.child.kill('SIGCONT'));

  // 20 MB of notifies: more than the channel's window (16 MiB) and than the sockets' buffers hold, so the
  // server is left holding bytes it cannot write.
  const count = 20_000;
  const from = 'x'.repeat(1000);
  const windowFull = deferred();
  const flood = (async () => {
    for (let seq = 0; seq < count; seq++) {
      const sent = notify(receiver).record(from, seq);
      if (!(await Promise.race([sent.then(() => true), nextTurn().then(() => false)]))) windowFull.resolve();
      await sent;
    }
    return receiver.get();
  })();
  flood.catch(() => {});
  await within(windowFull.promise, DEADLINE_MS, 'the channel’s window fills');
  await new Promise((resolve) => setTimeout(resolve, STOPPED_MS));
  agent.child.kill('SIGCONT');

  await within(flood, DEADLINE_MS, 'the flood arrives');
  t.deepEqual(await receiver.orderOf(from), { count, firstOutOfOrder: -1 });
  t.deepEqual(exits.events, []);
});
