/**
 * Losing a host (semantics §5): an agent SIGKILLed with hundreds of calls in flight to its workers, or
 * stopped (SIGSTOP) past the heartbeat timeout, takes its workers with it — every call in flight to them,
 * from the coordinator and from peers on this host and on another one, rejects within the heartbeat
 * timeout with reason `disconnected` — and `restart: 'on-failure'` brings them back once the host is.
 * Each test has its own server and agents: it kills one.
 */
import test from 'ava';
import { type HostDownEvent, WorkerDiedError, type WorkerSpec } from '../src/index.js';
import type { CallOutcome, RemoteCounter } from './fixtures/counter.js';
import { eventLog, exitLog, fixture, pidAlive, pollUntil, settle, startFor, within } from './helpers/cluster.js';
import { nextEvent } from './helpers/deadline.js';
import { secretFile, startAgent } from './helpers/agents.js';
import { HOST_HEALTH, startTestHosts } from './helpers/hosts.js';
import { failOnLeaks } from './helpers/leaks.js';

failOnLeaks(test);

const counter = fixture('counter.ts');
/** The heartbeat timeout, plus a tick, the transport's grace and room for a loaded machine. */
const LOST_WITHIN_MS = HOST_HEALTH.heartbeatTimeoutMs + 2000;
const BACK_MS = 30_000;

const workers: WorkerSpec[] = [
  { name: 'k1', module: counter, host: 'k', restart: 'on-failure' },
  { name: 'kp', module: counter, host: 'k', kind: 'process', restart: 'on-failure' },
  { name: 'c1', module: counter, host: 'c' },
  { name: 'a', module: counter },
];

/** Calls in flight to k1 and kp: 500 from the coordinator, 100 each from `a` (this host) and `c1` (host c). */
async function callsInFlight(cluster: Awaited<ReturnType<typeof startFor>>) {
  const fromCoordinator = ['k1', 'kp'].flatMap((name) =>
    Array.from({ length: 250 }, () => settle(cluster.worker<RemoteCounter>(name).sleep(60_000))),
  );
  const fromPeers: { caller: RemoteCounter; id: number }[] = [];
  for (const callerName of ['a', 'c1']) {
    const caller = cluster.worker<RemoteCounter>(callerName);
    for (const target of ['k1', 'kp']) {
      for (let i = 0; i < 50; i++) fromPeers.push({ caller, id: await caller.startCall(target, 'sleep', [60_000]) });
    }
  }
  // Each caller's calls are on their way once a later call on the same channels has answered.
  for (const name of ['k1', 'kp']) await cluster.worker<RemoteCounter>(name).inc(0);
  for (const callerName of ['a', 'c1']) for (const name of ['k1', 'kp']) await cluster.worker<RemoteCounter>(callerName).relay(name, 0);
  return {
    fromCoordinator,
    fromPeers: () => Promise.all(fromPeers.map(({ caller, id }) => caller.callResult(id) as Promise<CallOutcome>)),
  };
}

test.serial(
  'an agent SIGKILLed with 700 calls in flight: all reject within the heartbeat timeout (disconnected); its workers restart when it is back',
  async (t) => {
    const hosts = await startTestHosts(t, ['k', 'c'], { cluster: 'sigkill' });
    const cluster = await startFor(t, { nats: hosts.nats, ...HOST_HEALTH, workers });
    const exits = exitLog(cluster);
    const restarts = eventLog(cluster, 'worker-restart');
    const kpPid = await cluster.worker<RemoteCounter>('kp').pid();
    const calls = await callsInFlight(cluster);
    const down = nextEvent<[HostDownEvent]>(cluster, 'host-down', LOST_WITHIN_MS, 'host k down');
    const killedAt = performance.now();
    hosts.agents.get('k')!.child.kill('SIGKILL');
    t.is((await down)[0].name, 'k');
    const fromCoordinator = await within(Promise.all(calls.fromCoordinator), LOST_WITHIN_MS, 'the coordinator’s calls fail');
    const lostAfterMs = Math.max(...fromCoordinator.map((result) => result.at)) - killedAt;
    t.true(lostAfterMs < LOST_WITHIN_MS, `the last call failed ${Math.round(lostAfterMs)} ms after the kill`);
    t.deepEqual(
      new Set(
        fromCoordinator.map(
          (result) => !result.ok && `${(result.error as WorkerDiedError).name} ${(result.error as WorkerDiedError).reason}`,
        ),
      ),
      new Set(['WorkerDiedError disconnected']),
    );
    const fromPeers = await within(calls.fromPeers(), LOST_WITHIN_MS, 'the peers’ calls fail');
    t.deepEqual(
      new Set(fromPeers.map((outcome) => !outcome.ok && `${outcome.code} ${outcome.reason}`)),
      new Set(['ERR_CONVOY_WORKER_DIED disconnected']),
    );
    t.like(await exits.nth('k1', 1, 1000), { reason: 'disconnected', restarting: true });
    t.like(await exits.nth('kp', 1, 1000), { reason: 'disconnected', restarting: true });
    await pollUntil(() => !pidAlive(kpPid), 5000, 'kp’s process ends with its agent');
    // c1's calls to others go on.
    t.is(await cluster.worker<RemoteCounter>('c1').relay('a', 1), 1);

    const up = nextEvent(cluster, 'host-up', BACK_MS, 'host k up again');
    hosts.startAgent('k');
    await up;
    await restarts.nth('k1', 1, BACK_MS);
    await restarts.nth('kp', 1, BACK_MS);
    t.is(await cluster.worker<RemoteCounter>('a').relay('kp', 2), 2, 'a reaches the new kp');
    t.is(await cluster.worker<RemoteCounter>('k1').inc(3), 3);
    t.like(
      cluster.hosts().find((host) => host.name === 'k'),
      { state: 'up', pid: hosts.agents.get('k')!.pid },
    );
  },
);

test.serial(
  'an agent stopped (SIGSTOP) past the heartbeat timeout: its workers are lost (disconnected); resumed, it rejoins and they come back',
  async (t) => {
    const hosts = await startTestHosts(t, ['k', 'c'], { cluster: 'sigstop' });
    const cluster = await startFor(t, { nats: hosts.nats, ...HOST_HEALTH, workers });
    const restarts = eventLog(cluster, 'worker-restart');
    const kpPid = await cluster.worker<RemoteCounter>('kp').pid();
    const calls = await callsInFlight(cluster);
    const agent = hosts.agents.get('k')!;
    const down = nextEvent<[HostDownEvent]>(cluster, 'host-down', LOST_WITHIN_MS, 'host k down');
    agent.child.kill('SIGSTOP');
    t.teardown(() => agent.child.kill('SIGCONT'));
    t.regex((await down)[0].reason, /silent/);
    const fromCoordinator = await within(Promise.all(calls.fromCoordinator), LOST_WITHIN_MS, 'the coordinator’s calls fail');
    t.true(
      fromCoordinator.every((result) => !result.ok && result.error instanceof WorkerDiedError && result.error.reason === 'disconnected'),
    );
    const fromPeers = await within(calls.fromPeers(), LOST_WITHIN_MS, 'the peers’ calls fail');
    t.true(fromPeers.every((outcome) => !outcome.ok && outcome.reason === 'disconnected'));
    // kp is a process of its own, not stopped with its agent: told its channels are over, it exits.
    await pollUntil(() => !pidAlive(kpPid), 5000, 'kp exits');

    const up = nextEvent(cluster, 'host-up', BACK_MS, 'host k up again');
    agent.child.kill('SIGCONT');
    await up;
    await restarts.nth('k1', 1, BACK_MS);
    await restarts.nth('kp', 1, BACK_MS);
    t.is(await cluster.worker<RemoteCounter>('c1').relay('k1', 4), 4);
  },
);

test.serial('closing while restarts wait for a host that is down ends at once, and leaves nothing waiting', async (t) => {
  const hosts = await startTestHosts(t, ['k'], { cluster: 'close-while-down' });
  const cluster = await startFor(t, { nats: hosts.nats, ...HOST_HEALTH, workers: workers.slice(0, 2) });
  const exits = exitLog(cluster);
  const down = nextEvent<[HostDownEvent]>(cluster, 'host-down', LOST_WITHIN_MS, 'host k down');
  hosts.agents.get('k')!.child.kill('SIGKILL');
  await down;
  t.like(await exits.nth('k1', 1, 1000), { restarting: true });
  // The next incarnations are being started: they wait for their host to come back.
  await pollUntil(
    async () => (await cluster.stats()).workers.every((worker) => worker.incarnation === 1 && worker.state === 'starting'),
    5000,
    'the restarts wait for host k',
  );
  const closing = performance.now();
  await within(cluster.close(), 5000, 'close');
  t.true(performance.now() - closing < 5000);
  t.deepEqual(
    cluster.hosts().map(({ name, state }) => [name, state]),
    [['k', 'down']],
  );
});

// A review's: each start that waited out startTimeoutMs for the host spent a restart, so an outage longer
// than about maxRestarts × startTimeoutMs (2.5 minutes at the defaults) gave the workers up for good, as a
// `crash`, though nothing had crashed and the host came back.
test.serial(
  'an agent down longer than its workers’ restarts could wait: they come back with it, and the outage spends no restart',
  async (t) => {
    const hosts = await startTestHosts(t, ['k'], { cluster: 'long-outage' });
    // Also the bound of the start that must succeed once k is back (spawn a process there, load, report):
    // 3 s was little on a loaded machine, and with maxRestarts: 1 one slow start gives the worker up.
    const startTimeoutMs = 6000;
    const cluster = await startFor(t, {
      nats: hosts.nats,
      ...HOST_HEALTH,
      startTimeoutMs,
      maxRestarts: 1,
      restartDelayMs: 100,
      workers: workers.slice(0, 2),
    });
    const exits = exitLog(cluster);
    const restarts = eventLog(cluster, 'worker-restart');
    const down = nextEvent<[HostDownEvent]>(cluster, 'host-down', LOST_WITHIN_MS, 'host k down');
    hosts.agents.get('k')!.child.kill('SIGKILL');
    await down;
    t.like(await exits.nth('k1', 1, 1000), { reason: 'disconnected', restarting: true });
    t.like(await exits.nth('kp', 1, 1000), { reason: 'disconnected', restarting: true });
    // The outage itself, not a wait for something: long enough for two starts to time out waiting for k.
    await new Promise((resolve) => setTimeout(resolve, 2 * startTimeoutMs + 1500));
    const up = nextEvent(cluster, 'host-up', BACK_MS, 'host k up again');
    hosts.startAgent('k');
    await up;
    await restarts.nth('k1', 1, BACK_MS);
    await restarts.nth('kp', 1, BACK_MS);
    t.is(await cluster.worker<RemoteCounter>('k1').inc(3), 3);
    t.is(await cluster.worker<RemoteCounter>('kp').inc(4), 4);
    t.deepEqual(
      exits.events.map(({ name, restarting }) => [name, restarting]).sort(),
      [
        ['k1', true],
        ['kp', true],
      ],
      'no worker was given up',
    );
    const stats = await cluster.stats();
    t.deepEqual(
      stats.workers.map(({ name, restarts: count }) => [name, count]),
      [
        ['k1', 1],
        ['kp', 1],
      ],
      'one restart each: the death, not the waits for the host',
    );
  },
);

// From the review of the change above: a refusal is no outage. An agent back with another secret refused
// the coordinator, and its workers were started again every start timeout, for ever, the refusal unheard.
test.serial(
  'an agent that comes back refusing the coordinator (another secret) ends its workers’ restarts, naming the refusal',
  async (t) => {
    const hosts = await startTestHosts(t, ['k'], { cluster: 'refusing' });
    const cluster = await startFor(t, {
      nats: hosts.nats,
      ...HOST_HEALTH,
      startTimeoutMs: 3000,
      maxRestarts: 1,
      restartDelayMs: 100,
      workers: workers.slice(0, 1),
    });
    const exits = exitLog(cluster);
    const down = nextEvent<[HostDownEvent]>(cluster, 'host-down', LOST_WITHIN_MS, 'host k down');
    hosts.agents.get('k')!.child.kill('SIGKILL');
    await down;
    t.like(await exits.nth('k1', 1, 1000), { reason: 'disconnected', restarting: true });
    const refusing = startAgent(t, { nats: hosts.server.url, host: 'k', secretFile: secretFile(t), cluster: 'refusing' });
    await refusing.line(/refused/, 20_000, 'the agent refuses the coordinator');
    const last = await exits.nth('k1', 2, 30_000);
    t.like(last, { restarting: false });
    t.regex(String((last.error as Error | undefined)?.message), /Gave up after 1 restarts/);
    t.regex(String(((last.error as Error | undefined)?.cause as Error | undefined)?.message), /refused/);
  },
);

// A fuzz review's: a worker process on a host whose agent was stopped crashed; its last words came over
// its own NATS connection, so its calls failed as `crash`, but the host found down after them turned the
// same death into `disconnected` for its worker-exit and later calls (no exit code, no error).
test.serial('a worker that crashes while its agent is stopped keeps its own death (crash), though its host is then lost', async (t) => {
  const hosts = await startTestHosts(t, ['k'], { cluster: 'crash-then-down' });
  const cluster = await startFor(t, {
    nats: hosts.nats,
    ...HOST_HEALTH,
    workers: [{ name: 'kp', module: counter, host: 'k', kind: 'process' }],
  });
  const exits = exitLog(cluster);
  const kp = cluster.worker<RemoteCounter>('kp');
  const inFlight = settle(kp.sleep(60_000));
  await kp.inc(0);
  const agent = hosts.agents.get('k')!;
  const down = nextEvent<[HostDownEvent]>(cluster, 'host-down', LOST_WITHIN_MS, 'host k down');
  agent.child.kill('SIGSTOP');
  t.teardown(() => agent.child.kill('SIGCONT'));
  await kp.throwLater();
  const failed = await within(inFlight, LOST_WITHIN_MS, 'the call in flight fails');
  t.like(failed.ok ? {} : failed.error, { reason: 'crash', exitCode: 1 });
  await down;
  const exit = await exits.nth('kp', 1, LOST_WITHIN_MS);
  t.like(exit, { reason: 'crash', exitCode: 1, restarting: false });
  t.regex(String(exit.error?.message), /boom/);
  const later = await t.throwsAsync(kp.inc(1), { instanceOf: WorkerDiedError });
  t.like(later, { reason: 'crash', mayHaveRun: false });
});

// A review's (NATS fuzz): a process on a SIGKILLed agent resets its channels at once, so its calls fail
// within milliseconds, but its death is established only when the host is judged down, heartbeatTimeoutMs
// later. A close() in between waited 2 s for that death, then ended the cluster with no worker-exit for it
// (semantics §6: a death whose calls have failed when close() is called still gets its worker-exit).
test.serial('close() right after an agent is SIGKILLed: its process, whose calls have failed, still gets its worker-exit', async (t) => {
  const hosts = await startTestHosts(t, ['k'], { cluster: 'close-after-kill' });
  // The host is judged down long after the close: only the close can report the death.
  const cluster = await startFor(t, { nats: hosts.nats, heartbeatIntervalMs: 250, heartbeatTimeoutMs: 30_000, workers: [workers[1]!] });
  const exits = exitLog(cluster);
  const kp = cluster.worker<RemoteCounter>('kp');
  const inFlight = settle(kp.sleep(60_000));
  t.is(await kp.inc(1), 1);
  hosts.agents.get('k')!.child.kill('SIGKILL');
  const failed = await within(inFlight, 10_000, 'the call to kp fails');
  t.like(failed.ok ? {} : failed.error, { name: 'WorkerDiedError', reason: 'disconnected' });
  const closing = performance.now();
  await within(cluster.close(), 10_000, 'close');
  const closeMs = performance.now() - closing;
  t.true(closeMs < 6000, `closed in ${Math.round(closeMs)} ms: the 2 s wait, then the loss`);
  t.like(
    exits.events.filter((event) => event.name === 'kp'),
    [{ reason: 'disconnected', restarting: false }],
  );
});
