/**
 * Security across hosts (semantics §11): an agent with another secret is refused — startCluster fails
 * with AgentRefusedError naming it, the agent logs the refusal, and nothing runs there; two clusters on
 * one NATS server, each with an agent called `b`, never see each other: each cluster's worker runs on its
 * own agent and answers only its own coordinator.
 */
import test from 'ava';
import { AgentRefusedError } from '../src/index.js';
import type { RemoteCounter } from './fixtures/counter.js';
import { secretFile, startAgent } from './helpers/agents.js';
import { fixture, startFor } from './helpers/cluster.js';
import { HOST_HEALTH, startTestHosts } from './helpers/hosts.js';
import { failOnLeaks } from './helpers/leaks.js';

failOnLeaks(test);

const counter = fixture('counter.ts');
const JOIN_MS = 20_000;

test('an agent with another secret is refused on both sides, and nothing runs on it', async (t) => {
  const hosts = await startTestHosts(t, [], { cluster: 'secrets' });
  const agent = startAgent(t, { nats: hosts.server.url, host: 'b', secretFile: secretFile(t), cluster: 'secrets' });
  const error = await t.throwsAsync(
    startFor(t, { nats: hosts.nats, ...HOST_HEALTH, startTimeoutMs: JOIN_MS, workers: [{ name: 'w', module: counter, host: 'b' }] }),
    { instanceOf: AgentRefusedError },
  );
  t.is(error?.code, 'ERR_CONVOY_AGENT_REFUSED');
  t.is((error as AgentRefusedError).host, 'b');
  await agent.line(/refused: .*secret/, JOIN_MS, 'the agent logs the refusal', true);
  t.notRegex(agent.log, /joined coordinator session/);
});

test('two clusters on one NATS server, each with an agent named b: each talks only to its own', async (t) => {
  const blue = await startTestHosts(t, ['b'], { cluster: 'blue' });
  const greenSecret = secretFile(t);
  const green = startAgent(t, { nats: blue.server.url, host: 'b', secretFile: greenSecret, cluster: 'green' });
  const greenNats = { ...blue.nats, cluster: 'green', secretFile: greenSecret };
  const workers = [{ name: 'w', module: counter, host: 'b' }];
  const [blueCluster, greenCluster] = await Promise.all([
    startFor(t, { nats: blue.nats, ...HOST_HEALTH, workers }),
    startFor(t, { nats: greenNats, ...HOST_HEALTH, workers }),
  ]);
  // A thread runs inside its agent: its pid says which agent started it.
  t.is(await blueCluster.worker<RemoteCounter>('w').pid(), blue.agents.get('b')!.pid);
  t.is(await greenCluster.worker<RemoteCounter>('w').pid(), green.pid);
  t.is(await blueCluster.worker<RemoteCounter>('w').inc(1), 1);
  t.is(await greenCluster.worker<RemoteCounter>('w').inc(10), 10);
  t.deepEqual(
    greenCluster.hosts().map(({ name, pid }) => [name, pid]),
    [['b', green.pid]],
  );
});
