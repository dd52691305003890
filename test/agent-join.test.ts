/**
 * Agents joining a coordinator over a real nats-server, each agent a `convoy agent` process standing
 * for a host: the challenge–response both ways, a wrong secret refused on both sides with nothing run,
 * workers started on the agent's host (thread and process) whose calls cross NATS, and their exits
 * reported at once.
 */
import test from 'ava';
import { Agent } from '../src/agent/agent.js';
import { AgentRefusedError } from '../src/agent/errors.js';
import { readSecret } from '../src/agent/secret.js';
import { connectNats } from '../src/transport/nats-connect.js';
import { WorkerDiedError } from '../src/errors.js';
import { nextEvent, withDeadline } from './helpers/deadline.js';
import { agentFixture, connectHosts, secretFile, startAgent, startRemoteWorker } from './helpers/agents.js';
import { failOnLeaks } from './helpers/leaks.js';
import { startNatsServer } from './helpers/nats-server.js';
import { makeCertificates } from './helpers/tls.js';

failOnLeaks(test);

const health = { heartbeatIntervalMs: 200, heartbeatTimeoutMs: 2000 };
const JOIN_MS = 20_000;
const counter = agentFixture('counter.ts');

test('an agent proves the secret and joins; workers it starts, thread and process, answer calls over NATS; an exit is reported at once', async (t) => {
  const server = await startNatsServer(t, { token: 'nats-token' });
  const secret = secretFile(t);
  const hosts = await connectHosts(t, { servers: server.url, token: 'nats-token', secretFile: secret, cluster: 'joins' }, health);
  const tokenFile = secretFile(t, 'nats-token');
  const up = nextEvent<[{ name: string; pid: number }]>(hosts, 'host-up', JOIN_MS);
  const agent = startAgent(t, { nats: server.url, host: 'b', secretFile: secret, cluster: 'joins', extra: ['--token-file', tokenFile] });
  const [event] = await up;
  t.is(event.name, 'b');
  t.is(event.pid, agent.pid);
  t.deepEqual(
    hosts.list().map(({ name, state }) => [name, state]),
    [['b', 'up']],
  );
  await agent.line(/joined coordinator session/, JOIN_MS, 'joined', true);

  const thread = await startRemoteWorker(t, hosts, 'b', 'thread-worker', counter, { kind: 'thread' });
  const proc = await startRemoteWorker(t, hosts, 'b', 'process-worker', counter, { kind: 'process' });
  t.is(await thread.control.call('inc', [2]), 2);
  t.is(await proc.control.call('inc', [5]), 5);
  t.is(thread.child.pid, agent.pid, 'a thread runs inside its agent');
  t.is(await proc.control.call('pid', []), proc.child.pid, 'a process worker is a process of its own, reported with its pid');

  const exited = proc.child.exited;
  const dying = proc.control.call('exit', [7]);
  const exit = await withDeadline(exited, 5000, 'exit reported');
  t.is(exit.exitCode, 7);
  t.false(exit.crashed);
  await t.throwsAsync(dying, { instanceOf: WorkerDiedError });
  t.is(hosts.list()[0]!.workers, 1);

  thread.child.kill();
  await withDeadline(thread.child.exited, 5000, 'killed thread reported');
  t.true(thread.child.hasExited);
});

test('a wrong secret is refused with a clear error on both sides, and nothing runs', async (t) => {
  const server = await startNatsServer(t);
  const hosts = await connectHosts(t, { servers: server.url, secretFile: secretFile(t), cluster: 'refusals' }, health);
  const agent = startAgent(t, { nats: server.url, host: 'c', secretFile: secretFile(t), cluster: 'refusals' });
  const error = await t.throwsAsync(hosts.waitFor(['c'], JOIN_MS), { instanceOf: AgentRefusedError });
  t.is(error?.code, 'ERR_CONVOY_AGENT_REFUSED');
  t.is((error as AgentRefusedError).host, 'c');
  t.regex(error!.message, /secret/);
  await agent.line(/refused: .*secret/, JOIN_MS, 'logs the refusal', true);
  t.deepEqual(hosts.list(), []);
  await t.throwsAsync(hosts.spawn('c', {} as never, { kind: 'thread' }), { code: 'ERR_CONVOY_HOST_DOWN' });
});

test('two clusters on one NATS server: an agent joins only the coordinator of its own cluster', async (t) => {
  const server = await startNatsServer(t);
  const secret = secretFile(t);
  const blue = await connectHosts(t, { servers: server.url, secretFile: secret, cluster: 'blue' }, health);
  const green = await connectHosts(t, { servers: server.url, secretFile: secret, cluster: 'green' }, health);
  startAgent(t, { nats: server.url, host: 'b', secretFile: secret, cluster: 'green' });
  await green.waitFor(['b'], JOIN_MS);
  t.deepEqual(blue.list(), []);
  await t.throwsAsync(blue.waitFor(['b'], 500), { code: 'ERR_CONVOY_HOST_DOWN' });
});

test('an agent announcing itself again before its join is answered still joins (several joins out at once)', async (t) => {
  const server = await startNatsServer(t);
  const secret = secretFile(t);
  const hosts = await connectHosts(t, { servers: server.url, secretFile: secret, cluster: 'eager' }, health);
  const connection = await connectNats({ servers: server.url }, 'in-process agent');
  t.teardown(() => connection.close());
  // Announcing every millisecond, it has many joins in flight when it answers the first.
  const agent = new Agent({
    connection,
    connect: { servers: server.url },
    cluster: 'eager',
    host: 'd',
    secret: await readSecret(secret),
    announceIntervalMs: 1,
  });
  t.teardown(() => agent.close());
  const refusals: Error[] = [];
  hosts.on('refused', (error) => refusals.push(error));
  agent.start();
  await hosts.waitFor(['d'], JOIN_MS);
  t.deepEqual(refusals, []);
  t.truthy(agent.session);
});

test('TLS to the NATS server: the coordinator and an agent trusting its CA join; a client that does not is refused', async (t) => {
  const certificates = makeCertificates(t);
  const server = await startNatsServer(t, { tls: certificates });
  const secret = secretFile(t);
  const tls = { caFile: certificates.caFile };
  const hosts = await connectHosts(t, { servers: server.url, tls, secretFile: secret, cluster: 'tls' }, health);
  startAgent(t, { nats: server.url, host: 'b', secretFile: secret, cluster: 'tls', extra: ['--tls-ca', certificates.caFile] });
  await hosts.waitFor(['b'], JOIN_MS);
  const worker = await startRemoteWorker(t, hosts, 'b', 'w', counter, { kind: 'thread' });
  t.is(await worker.control.call('inc', [6]), 6);
  await t.throwsAsync(connectNats({ servers: server.url }, 'no CA'));
});
