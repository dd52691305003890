/**
 * Agents' and coordinators' unsigned words over NATS (announces, refusals, a joined with a bad proof) can
 * be published by anyone on the server: none of them, forged, takes a host down or fails a start. And a
 * coordinator that waits for an agent serving another says so when the wait times out.
 */
import { randomBytes } from 'node:crypto';
import test from 'ava';
import { HostDownError } from '../src/index.js';
import { agentSubject, announceSubject, sessionSubject } from '../src/agent/protocol.js';
import { Decoder, Encoder } from '../src/protocol/codec.js';
import { connectNats } from '../src/transport/nats-connect.js';
import type { RemoteCounter } from './fixtures/counter.js';
import { fixture, startFor, within } from './helpers/cluster.js';
import { HOST_HEALTH, startTestHosts } from './helpers/hosts.js';
import { failOnLeaks } from './helpers/leaks.js';

failOnLeaks(test);

const counter = fixture('counter.ts');
const JOIN_MS = 20_000;
const encoder = new Encoder();

test('a forged idle announce of a host that is up changes nothing: its worker still answers, no host-down', async (t) => {
  const hosts = await startTestHosts(t, ['b'], { cluster: 'forged-announce' });
  const cluster = await startFor(t, { nats: hosts.nats, ...HOST_HEALTH, workers: [{ name: 'w', module: counter, host: 'b' }] });
  const downs: string[] = [];
  cluster.on('host-down', ({ name, reason }) => downs.push(`${name}: ${reason}`));
  const w = cluster.worker<RemoteCounter>('w');
  t.is(await w.inc(1), 1);
  const forger = await connectNats({ servers: hosts.server.url }, 'forger');
  t.teardown(() => forger.close());
  const announce = { t: 'announce', v: 1, host: 'b', nonce: randomBytes(16), busy: false };
  forger.publish(announceSubject('forged-announce'), encoder.encode(announce));
  // With a made-up proof that it left: the proof must be over the nonce it joined with, under the secret.
  forger.publish(announceSubject('forged-announce'), encoder.encode({ ...announce, left: randomBytes(16), proof: randomBytes(32) }));
  await forger.flush();
  // Taken at its word, the announce took the host down as it arrived, and these calls failed.
  for (let i = 1; i <= 4; i++) t.is(await w.inc(1), 1 + i);
  t.deepEqual(downs, []);
  t.deepEqual(
    cluster.hosts().map(({ name, state }) => [name, state]),
    [['b', 'up']],
  );
});

test('unsigned words naming what no subject can be made of are dropped: the coordinator and a busy agent go on, and an idle agent still joins', async (t) => {
  const hosts = await startTestHosts(t, ['b', 'c'], { cluster: 'bad-names' });
  const forger = await connectNats({ servers: hosts.server.url }, 'forger');
  t.teardown(() => forger.close());
  const joinOf = (session: string) => ({
    t: 'join',
    v: 2,
    session,
    nonce: randomBytes(16),
    agentNonce: randomBytes(16),
    proof: randomBytes(32),
  });
  // Before any coordinator: agent c is sent a join whose session is no subject token (it refuses a join of
  // another version by publishing to the session's subject, which threw and ended its NATS reader).
  forger.publish(agentSubject('bad-names', 'c'), encoder.encode(joinOf('no such session')));
  await forger.flush();
  const cluster = await startFor(t, {
    nats: hosts.nats,
    ...HOST_HEALTH,
    startTimeoutMs: JOIN_MS,
    workers: [
      { name: 'w', module: counter, host: 'b' },
      { name: 'v', module: counter, host: 'c' },
    ],
  });
  const downs: string[] = [];
  cluster.on('host-down', ({ name, reason }) => downs.push(`${name}: ${reason}`));
  // Now both are busy: an announce of a host no subject can name (it threw in the coordinator's handler, and
  // ended its NATS reader), and the same join to b.
  forger.publish(
    announceSubject('bad-names'),
    encoder.encode({ t: 'announce', v: 1, host: 'bad host', nonce: randomBytes(16), busy: false }),
  );
  forger.publish(agentSubject('bad-names', 'b'), encoder.encode(joinOf('no such session')));
  await forger.flush();
  // Beats are every 250 ms and a silence of 2 s takes a host down: for longer than that, both keep answering
  // (each call bounded: a dead reader would leave it hanging).
  const until = performance.now() + 2 * HOST_HEALTH.heartbeatTimeoutMs;
  for (let i = 1; performance.now() < until; i++) {
    t.is(await within(cluster.worker<RemoteCounter>('w').inc(1), 5000, 'a call to w'), i);
    t.is(await within(cluster.worker<RemoteCounter>('v').inc(1), 5000, 'a call to v'), i);
  }
  t.deepEqual(downs, []);
});

test('a forged refusal, or a joined with a bad proof, racing the agent’s answer does not fail the start', async (t) => {
  const hosts = await startTestHosts(t, ['b'], { cluster: 'forged-answers' });
  // Someone on the server watches for joins to b and answers each before the agent can.
  const forger = await connectNats({ servers: hosts.server.url }, 'forger');
  t.teardown(() => forger.close());
  const decoder = new Decoder();
  let forged = 0;
  forger.subscribe(agentSubject('forged-answers', 'b'), {
    callback: (_, message) => {
      const join = decoder.decode(message.data) as { t?: string; session?: string; nonce?: Uint8Array };
      if (join?.t !== 'join' || typeof join.session !== 'string') return;
      const to = sessionSubject('forged-answers', join.session, 'b');
      forger.publish(to, encoder.encode({ t: 'joined', host: 'b', nonce: join.nonce, proof: randomBytes(32), pid: 1 }));
      forger.publish(to, encoder.encode({ t: 'refused', host: 'b', session: join.session, reason: 'forged' }));
      forged++;
    },
  });
  await forger.flush();
  const cluster = await startFor(t, {
    nats: hosts.nats,
    ...HOST_HEALTH,
    startTimeoutMs: JOIN_MS,
    workers: [{ name: 'w', module: counter, host: 'b' }],
  });
  t.true(forged >= 1, 'the forger answered a join');
  t.is(await cluster.worker<RemoteCounter>('w').inc(1), 1);
  t.is(cluster.hosts()[0]?.pid, hosts.agents.get('b')!.pid, 'the real agent joined');
});

test('waiting for an agent that serves another coordinator, the timeout says so', async (t) => {
  const hosts = await startTestHosts(t, ['b'], { cluster: 'busy' });
  const first = await startFor(t, { nats: hosts.nats, ...HOST_HEALTH, workers: [{ name: 'w', module: counter, host: 'b' }] });
  t.is(await first.worker<RemoteCounter>('w').inc(1), 1);
  const error = await t.throwsAsync(
    startFor(t, { nats: hosts.nats, ...HOST_HEALTH, startTimeoutMs: 2000, workers: [{ name: 'v', module: counter, host: 'b' }] }),
    { instanceOf: HostDownError },
  );
  t.regex(error!.message, /agent "b" is serving another coordinator/);
});
