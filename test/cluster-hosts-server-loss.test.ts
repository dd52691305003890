/**
 * Losing the NATS server (semantics §5): every call in flight across hosts fails promptly — from the
 * coordinator and from a worker on its host — while pairs on the coordinator's host go on as if nothing
 * happened; when the server is back, the agents join again and the workers that restart on failure come
 * back, reachable across hosts as before.
 */
import test from 'ava';
import { WorkerDiedError, type WorkerSpec } from '../src/index.js';
import type { CallOutcome, RemoteCounter } from './fixtures/counter.js';
import { eventLog, fixture, settle, startFor, within } from './helpers/cluster.js';
import { HOST_HEALTH, startTestHosts } from './helpers/hosts.js';
import { failOnLeaks } from './helpers/leaks.js';

failOnLeaks(test);

const counter = fixture('counter.ts');
/** "Promptly": a lost connection is seen at once; this is room for a loaded machine. */
const PROMPT_MS = 3000;
const BACK_MS = 30_000;

test.serial(
  'the NATS server killed: cross-host calls fail at once, same-host pairs go on; back, the hosts rejoin and workers restart',
  async (t) => {
    const hosts = await startTestHosts(t, ['b', 'c'], { cluster: 'outage' });
    const workers: WorkerSpec[] = [
      { name: 'a', module: counter },
      { name: 'p', module: counter, kind: 'process' },
      { name: 'b1', module: counter, host: 'b', restart: 'on-failure' },
      { name: 'bp', module: counter, host: 'b', kind: 'process', restart: 'on-failure' },
      { name: 'c1', module: counter, host: 'c', restart: 'on-failure' },
    ];
    const cluster = await startFor(t, { nats: hosts.nats, ...HOST_HEALTH, workers });
    const restarts = eventLog(cluster, 'worker-restart');
    const a = cluster.worker<RemoteCounter>('a');
    const p = cluster.worker<RemoteCounter>('p');
    // In flight when the server goes: the coordinator's calls to b1 and c1, a's to bp, a's to p (same host).
    const crossHost = [
      settle(cluster.worker<RemoteCounter>('b1').sleep(60_000)),
      settle(cluster.worker<RemoteCounter>('c1').sleep(60_000)),
    ];
    const aToBp = await a.startCall('bp', 'sleep', [60_000]);
    const aToP = await a.startCall('p', 'sleep', [300]);
    t.is(await a.relay('bp', 0), 0, 'a’s call to bp is on its way');
    t.is(await a.relay('p', 0), 0);
    const killedAt = performance.now();
    await hosts.server.kill();

    const lost = await within(Promise.all(crossHost), PROMPT_MS, 'the calls across hosts fail');
    t.true(lost.every((result) => !result.ok && result.error instanceof WorkerDiedError && result.error.reason === 'disconnected'));
    t.like((await within(a.callResult(aToBp) as Promise<CallOutcome>, PROMPT_MS, 'a’s call to bp fails')) as object, {
      ok: false,
      reason: 'disconnected',
    });
    t.true(performance.now() - killedAt < PROMPT_MS);
    // The coordinator's host carries on.
    t.deepEqual(await a.callResult(aToP), { ok: true, value: 300 });
    t.is(await a.relay('p', 5), 5);
    t.is(await p.relay('a', 7), 7);
    t.is(await a.inc(1), 8);

    const upAgain = new Set<string>();
    const bothUp = new Promise<void>((resolve) =>
      cluster.on('host-up', ({ name }) => {
        upAgain.add(name);
        if (upAgain.size === 2) resolve();
      }),
    );
    await hosts.server.start();
    await within(bothUp, BACK_MS, 'both hosts join again');
    for (const name of ['b1', 'bp', 'c1']) await restarts.nth(name, 1, BACK_MS);
    t.is(await a.relay('bp', 2), 2, 'a reaches the new bp over NATS');
    t.is(await cluster.worker<RemoteCounter>('c1').relay('b1', 3), 3);
    t.is(await cluster.worker<RemoteCounter>('b1').relay('p', 8), 13);
  },
);
