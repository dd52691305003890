/**
 * A NATS transport cannot see its peer die; the cluster tells it (`Channel.peerDied`, then the
 * transport's `peerGone`). The word travels another way than the peer's frames and can overtake them:
 * frames and a close that arrive after it, within the grace, are still delivered (replies in them
 * resolve, semantics §5), and the pair ends cleanly at the close; a peer that sends nothing more (it was
 * killed) costs the calls in flight only the grace, and hears a reset if it still runs.
 */
import test, { type ExecutionContext } from 'ava';
import { Channel } from '../src/channel/channel.js';
import { ProtocolError, WorkerDiedError } from '../src/errors.js';
import { Endpoint, type EndpointConfig } from '../src/rpc/endpoint.js';
import type { NatsHub } from '../src/transport/nats-hub.js';
import type { NatsTransport } from '../src/transport/nats.js';
import { deferred, nextTurn, outcome, withDeadline } from './helpers/deadline.js';
import { failOnLeaks } from './helpers/leaks.js';
import { connectHub } from './helpers/nats-hub.js';
import { startNatsServer } from './helpers/nats-server.js';

failOnLeaks(test);

const DEADLINE_MS = 10_000;
const death = new WorkerDiedError({ worker: 'b', reason: 'exit', exitCode: 0 });

async function pair(t: ExecutionContext): Promise<{ hubs: [NatsHub, NatsHub]; transports: [NatsTransport, NatsTransport] }> {
  const server = await startNatsServer(t);
  const hubs: [NatsHub, NatsHub] = await Promise.all([connectHub(t, server.url), connectHub(t, server.url)]);
  const transports: [NatsTransport, NatsTransport] = [
    hubs[0].open('a', 'b', { maxFrameBytes: 1 << 20 }),
    hubs[1].open('b', 'a', { maxFrameBytes: 1 << 20 }),
  ];
  await withDeadline(Promise.all(transports.map((transport) => transport.opened)), DEADLINE_MS, 'the pair opens');
  return { hubs, transports };
}

function endpointOver(t: ExecutionContext, transport: NatsTransport, config: EndpointConfig = {}): Endpoint {
  const endpoint = new Endpoint(new Channel(transport), config);
  t.teardown(() => endpoint.destroy(new Error('test teardown')));
  return endpoint;
}

test('replies and a close that arrive after word of the peer’s death are delivered; the pair then ends cleanly', async (t) => {
  const {
    transports: [ta, tb],
  } = await pair(t);
  const release = deferred();
  let started = 0;
  let answered = 0;
  const allStarted = deferred();
  const allAnswered = deferred();
  const api = {
    async answer(i: number) {
      if (++started === 100) allStarted.resolve();
      await release.promise;
      if (++answered === 100) allAnswered.resolve();
      return i;
    },
  };
  const a = endpointOver(t, ta);
  const b = endpointOver(t, tb, { api });
  const calls = Array.from({ length: 100 }, (_, i) => outcome(a.call('answer', [i])));
  await withDeadline(allStarted.promise, DEADLINE_MS, 'b has every call');
  // The word of b's death overtakes its replies: they have not even been sent yet.
  a.channel.peerDied(death);
  const closed = deferred<Error>();
  a.onClose(closed.resolve);
  release.resolve();
  await withDeadline(allAnswered.promise, DEADLINE_MS, 'b answers');
  await nextTurn();
  // b's last words: its replies are out, then its close.
  b.close(new Error('b exits'));
  const results = await withDeadline(Promise.all(calls), DEADLINE_MS, 'the calls settle');
  t.deepEqual(
    results.map((result) => (result.ok ? result.value : 'failed')),
    Array.from({ length: 100 }, (_, i) => i),
  );
  // At b's close: what is left fails with the death a was told of, not with a broken transport.
  t.is(await withDeadline(closed.promise, DEADLINE_MS, 'a closes'), death);
  t.true(ta.closed);
});

test('a peer that sends nothing more after word of its death: its calls fail within the grace, and it hears a reset', async (t) => {
  const {
    transports: [ta, tb],
  } = await pair(t);
  const held = deferred();
  const a = endpointOver(t, ta);
  const bClosed = deferred<Error | undefined>();
  tb.start({ frame: () => held.resolve(), close: bClosed.resolve, drain() {} });
  const call = outcome(a.call('never', []));
  await withDeadline(held.promise, DEADLINE_MS, 'b has the call');
  const told = performance.now();
  a.channel.peerDied(death);
  const result = await withDeadline(call, DEADLINE_MS, 'the call fails');
  const ms = performance.now() - told;
  t.false(result.ok);
  t.is(!result.ok && result.error instanceof WorkerDiedError && result.error.reason, 'exit');
  t.true(ms < 2000, `failed after ${Math.round(ms)} ms`);
  t.true((await withDeadline(bClosed.promise, DEADLINE_MS, 'b hears a reset')) instanceof ProtocolError);
});
