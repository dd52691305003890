/**
 * Losing hosts, coordinators and the NATS server, with agents as separate processes: an agent that is
 * SIGKILLed or SIGSTOPped is reported down within the heartbeat timeout, its workers count as exited at
 * once (the calls in flight to them fail) and none is left running; an agent whose coordinator dies ends
 * that coordinator's workers and serves the next one; when the NATS server is killed, hosts go down, and
 * when it is back, agents join again.
 */
import test, { type ExecutionContext } from 'ava';
import { HostDownError } from '../src/agent/errors.js';
import type { Hosts } from '../src/cluster/hosts.js';
import type { HostDownEvent } from '../src/cluster/nats-options.js';
import { WorkerDiedError } from '../src/errors.js';
import { agentFixture, connectHosts, secretFile, startAgent, startRemoteWorker, type AgentProcess } from './helpers/agents.js';
import { pidAlive, pollUntil } from './helpers/cluster.js';
import { nextEvent, outcome, withDeadline } from './helpers/deadline.js';
import { failOnLeaks } from './helpers/leaks.js';
import { type NatsServer, startNatsServer } from './helpers/nats-server.js';

failOnLeaks(test);

/** Short enough to see a host go down quickly; long enough that setting up (a process spawned on the agent) is not taken for one. */
const health = { heartbeatIntervalMs: 250, heartbeatTimeoutMs: 3000 };
/** The heartbeat timeout plus room for a loaded machine: what "within the heartbeat timeout" may take here. */
const DOWN_MS = health.heartbeatTimeoutMs + 3000;
const JOIN_MS = 20_000;
const counter = agentFixture('counter.ts');

interface Setup {
  server: NatsServer;
  secret: string;
  hosts: Hosts;
  agent: AgentProcess;
}

async function setup(t: ExecutionContext, cluster: string): Promise<Setup> {
  const server = await startNatsServer(t);
  const secret = secretFile(t);
  const hosts = await connectHosts(t, { servers: server.url, secretFile: secret, cluster }, health);
  const agent = startAgent(t, { nats: server.url, host: 'b', secretFile: secret, cluster });
  await hosts.waitFor(['b'], JOIN_MS);
  return { server, secret, hosts, agent };
}

test.serial(
  'an agent SIGKILLed with 500 calls in flight: host down within the heartbeat timeout, every call fails, no worker left',
  async (t) => {
    const { hosts, agent } = await setup(t, 'sigkill');
    const worker = await startRemoteWorker(t, hosts, 'b', 'w', counter, { kind: 'process' });
    const calls = Array.from({ length: 500 }, () => outcome(worker.control.call('sleep', [60_000])));
    t.is(await worker.control.call('inc', [1]), 1, 'the 500 are in flight behind it');
    const down = nextEvent<[HostDownEvent]>(hosts, 'host-down', DOWN_MS);
    agent.child.kill('SIGKILL');
    const [event] = await down;
    t.is(event.name, 'b');
    const exit = await withDeadline(worker.child.exited, 1000, 'the worker counts as exited with its host');
    t.true(exit.error instanceof HostDownError, String(exit.error));
    const results = await withDeadline(Promise.all(calls), 1000, 'calls in flight fail');
    t.true(results.every((result) => !result.ok && result.error instanceof WorkerDiedError));
    // Its process noticed its agent's IPC channel close, and exited.
    await pollUntil(() => !pidAlive(worker.child.pid), 5000, 'the worker process exits with its agent');
    t.deepEqual(
      hosts.list().map(({ name, state }) => [name, state]),
      [['b', 'down']],
    );
  },
);

test.serial('an agent stopped (SIGSTOP) past the heartbeat timeout is down; resumed, it ends its workers and joins again', async (t) => {
  const { hosts, agent } = await setup(t, 'sigstop');
  const worker = await startRemoteWorker(t, hosts, 'b', 'w', counter, { kind: 'process' });
  const down = nextEvent<[HostDownEvent]>(hosts, 'host-down', DOWN_MS);
  // Armed before the stop: on a starved machine the agent may take the coordinator for silent and end the
  // session itself just before the stop lands ('its agent left: … silent'); its line then comes before any
  // resume, and a waiter armed later would miss it.
  const ended = agent.line(/session \w+ ended/, DOWN_MS + JOIN_MS, 'ends the session');
  agent.child.kill('SIGSTOP');
  t.regex((await down)[0].reason, /silent/);
  await withDeadline(worker.child.exited, 1000, 'the worker counts as exited');
  const upAgain = nextEvent(hosts, 'host-up', JOIN_MS);
  agent.child.kill('SIGCONT');
  await ended;
  await upAgain;
  t.true(hosts.isUp('b'));
  await pollUntil(() => !pidAlive(worker.child.pid), 5000, 'the old worker process is gone');
  // The new session works.
  const again = await startRemoteWorker(t, hosts, 'b', 'w2', counter, { kind: 'thread' });
  t.is(await again.control.call('inc', [3]), 3);
});

test.serial('an agent whose coordinator dies ends its workers, then serves the next coordinator', async (t) => {
  const { server, secret, hosts, agent } = await setup(t, 'succession');
  const worker = await startRemoteWorker(t, hosts, 'b', 'w', counter, { kind: 'process' });
  const ended = agent.line(/session \w+ ended: the coordinator was silent/, DOWN_MS, 'ends the silent session');
  // The coordinator vanishes without a goodbye: its connection closes, its beats stop.
  await hosts.hub.connection.close();
  await ended;
  await pollUntil(() => !pidAlive(worker.child.pid), 5000, 'the dead coordinator’s worker is gone');
  const next = await connectHosts(t, { servers: server.url, secretFile: secret, cluster: 'succession' }, health);
  await next.waitFor(['b'], JOIN_MS);
  const fresh = await startRemoteWorker(t, next, 'b', 'w', counter, { kind: 'process' });
  t.is(await fresh.control.call('inc', [4]), 4);
});

test.serial('killing the NATS server takes the hosts down at once; when it is back, the agents join again', async (t) => {
  const { server, hosts, agent } = await setup(t, 'outage');
  const worker = await startRemoteWorker(t, hosts, 'b', 'w', counter, { kind: 'process' });
  const inFlight = outcome(worker.control.call('sleep', [60_000]));
  const down = nextEvent<[HostDownEvent]>(hosts, 'host-down', 5000);
  const ended = agent.line(/session \w+ ended: the NATS connection was lost/, 5000, 'ends its session');
  await server.kill();
  t.regex((await down)[0].reason, /lost its NATS connection/);
  const result = await withDeadline(inFlight, 1000, 'the call in flight fails');
  t.true(!result.ok && result.error instanceof WorkerDiedError);
  await ended;
  await pollUntil(() => !pidAlive(worker.child.pid), 5000, 'the worker is gone');

  const up = nextEvent(hosts, 'host-up', JOIN_MS);
  await server.start();
  await up;
  const again = await startRemoteWorker(t, hosts, 'b', 'w', counter, { kind: 'thread', env: {} });
  t.is(await again.control.call('inc', [5]), 5);
});
