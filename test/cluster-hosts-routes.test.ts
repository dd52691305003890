/**
 * A NATS cluster of two servers joined by a route, with the cluster's clients spread over both: the
 * coordinator and agent `c` on the first server, agent `b` on the second, so every channel of b's workers
 * crosses the route. Per-pair order holds across it; losing the second server fails only the channels
 * that went through it — b's, within the heartbeat timeout — while c's and the coordinator's own go on.
 */
import test from 'ava';
import { type Cluster, type HostDownEvent, WorkerDiedError, type WorkerSpec } from '../src/index.js';
import type { CallOutcome, RemoteCounter } from './fixtures/counter.js';
import { fixture, sendMixedFromCoordinator, settle, startFor, within } from './helpers/cluster.js';
import { secretFile, startAgent } from './helpers/agents.js';
import { HOST_HEALTH } from './helpers/hosts.js';
import { failOnLeaks } from './helpers/leaks.js';
import { startNatsCluster } from './helpers/nats-server.js';

failOnLeaks(test);

const counter = fixture('counter.ts');
const COUNT = 20_000;
const DEADLINE_MS = 60_000;
/** The heartbeat timeout, plus a tick, the transport's grace and room for a loaded machine. */
const LOST_WITHIN_MS = HOST_HEALTH.heartbeatTimeoutMs + 3000;

const workers: WorkerSpec[] = [
  { name: 'b1', module: counter, host: 'b' },
  { name: 'c1', module: counter, host: 'c', kind: 'process' },
  { name: 'a', module: counter },
];

/** Not a test of heartbeats: floods over NATS on a loaded machine can starve an agent. */
const FLOOD_HEALTH: { heartbeatIntervalMs: number; heartbeatTimeoutMs: number } = { heartbeatIntervalMs: 500, heartbeatTimeoutMs: 15_000 };

/** Two routed servers, agent b on the second, agent c and the coordinator on the first; the cluster started. */
async function startSpread(t: Parameters<typeof startFor>[0], cluster: string, health: typeof FLOOD_HEALTH = HOST_HEALTH) {
  const [first, second] = await startNatsCluster(t);
  const secret = secretFile(t);
  startAgent(t, { nats: second.url, host: 'b', secretFile: secret, cluster });
  startAgent(t, { nats: first.url, host: 'c', secretFile: secret, cluster });
  const started = await startFor(t, { nats: { servers: first.url, secretFile: secret, cluster }, ...health, workers });
  return { first, second, cluster: started };
}

async function transportOf(cluster: Cluster, from: string, to: string): Promise<string | undefined> {
  const worker = (await cluster.stats()).workers.find((w) => w.name === from);
  return to === 'coordinator' ? worker?.control?.transport : worker?.peers.find((p) => p.peer === to)?.transport;
}

test.serial(`across the route: ${COUNT} mixed calls and notifies coordinator → b, c → b and b → a, each in order`, async (t) => {
  const { cluster } = await startSpread(t, 'routes-order', FLOOD_HEALTH);
  const b1 = cluster.worker<RemoteCounter>('b1');
  await within(sendMixedFromCoordinator(b1, COUNT), DEADLINE_MS, 'coordinator → b1');
  t.deepEqual(await b1.orderOf('coordinator'), { count: COUNT, firstOutOfOrder: -1 });
  await within(cluster.worker<RemoteCounter>('c1').sendMixed('b1', COUNT), DEADLINE_MS, 'c1 → b1');
  t.deepEqual(await b1.orderOf('c1'), { count: COUNT, firstOutOfOrder: -1 });
  await within(b1.sendMixed('a', COUNT), DEADLINE_MS, 'b1 → a');
  t.deepEqual(await cluster.worker<RemoteCounter>('a').orderOf('b1'), { count: COUNT, firstOutOfOrder: -1 });
  for (const [from, to] of [
    ['b1', 'coordinator'],
    ['b1', 'c1'],
    ['b1', 'a'],
  ] as const) {
    t.is(await transportOf(cluster, from, to), 'nats', `${from} ↔ ${to}`);
  }
});

test.serial('losing the second server fails only the channels through it: b’s calls, within the heartbeat timeout', async (t) => {
  const { second, cluster } = await startSpread(t, 'routes-loss');
  const hostsDown: HostDownEvent[] = [];
  cluster.on('host-down', (event) => hostsDown.push(event));
  const a = cluster.worker<RemoteCounter>('a');
  const c1 = cluster.worker<RemoteCounter>('c1');
  // In flight when the server goes: through it, the coordinator's, a's and c1's calls to b1; not through
  // it, the coordinator's and a's calls to c1, which must simply answer.
  const throughLost = settle(cluster.worker<RemoteCounter>('b1').sleep(60_000));
  const aToB = await a.startCall('b1', 'sleep', [60_000]);
  const cToB = await c1.startCall('b1', 'sleep', [60_000]);
  const toC = settle(c1.sleep(500));
  const aToC = await a.startCall('c1', 'sleep', [500]);
  // Each caller's calls are on their way once a later call on the same channels has answered.
  t.is(await a.relay('b1', 0), 0);
  t.is(await c1.relay('b1', 0), 0);
  t.is(await a.relay('c1', 0), 0);
  const killedAt = performance.now();
  await second.kill();

  const lost = await within(throughLost, LOST_WITHIN_MS, 'the coordinator’s call to b1 fails');
  t.true(!lost.ok && lost.error instanceof WorkerDiedError, String(!lost.ok && lost.error));
  for (const [caller, id, what] of [
    [a, aToB, 'a → b1'],
    [c1, cToB, 'c1 → b1'],
  ] as const) {
    const outcome = (await within(caller.callResult(id) as Promise<CallOutcome>, LOST_WITHIN_MS, `${what} fails`)) as CallOutcome;
    t.like(outcome as object, { ok: false, code: 'ERR_CONVOY_WORKER_DIED' }, what);
  }
  const lostAfterMs = performance.now() - killedAt;
  t.true(lostAfterMs < LOST_WITHIN_MS);
  t.log(`b’s calls failed within ${Math.round(lostAfterMs)} ms (${!lost.ok && (lost.error as WorkerDiedError).reason})`);
  // Nothing that avoided the lost server noticed: c's calls answered, c is up, its channels carry on.
  const fromC = await within(toC, LOST_WITHIN_MS, 'the coordinator’s call to c1');
  t.true(fromC.ok && fromC.value === 500);
  t.deepEqual(await a.callResult(aToC), { ok: true, value: 500 });
  t.is(await c1.relay('a', 5), 5);
  t.is(await a.relay('c1', 7), 7);
  t.deepEqual(
    hostsDown.map((event) => event.name).filter((name) => name !== 'b'),
    [],
  );
  t.is(cluster.hosts().find((host) => host.name === 'c')?.state, 'up');
});
