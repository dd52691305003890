/**
 * A start that fails before any worker runs (the coordinator cannot bind its `host`) leaves nothing
 * behind: the pool's threads and the listener are closed. Alone in its file: it counts the process's
 * active handles.
 */
import test from 'ava';
import { startCluster } from '../src/index.js';
import { fixture, pollUntil, settle, within } from './helpers/cluster.js';

test('a start failing to bind its host closes the pool it made: no MessagePort or server handle is left', async (t) => {
  const count = (kind: string) => process.getActiveResourcesInfo().filter((resource) => resource === kind).length;
  const before = { ports: count('MessagePort'), servers: count('TCPServerWrap') };
  // 192.0.2.1 (TEST-NET-1) is no interface of this machine: binding it fails here, and no packet is sent.
  const result = await within(
    settle(
      startCluster({
        host: '192.0.2.1',
        pool: { module: fixture('pool-tasks.ts'), minThreads: 1, maxThreads: 1 },
        workers: [{ name: 'a', module: fixture('counter.ts'), kind: 'process' }],
      }),
    ),
    20_000,
    'startCluster',
  );
  t.false(result.ok);
  if (result.ok) await result.value.close();
  // A handle being closed is listed until its close completes, a turn or so later: it must then go. The
  // pool's port, never closed before, stayed for good.
  const left = () => ({ ports: count('MessagePort'), servers: count('TCPServerWrap') });
  await pollUntil(() => left().ports === before.ports && left().servers === before.servers, 5000, 'the handles closing').catch(() => {});
  t.deepEqual(left(), before);
});
