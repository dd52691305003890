/**
 * Per-pair FIFO across hosts (semantics §1): 100k calls and notifies, mixed, from the coordinator to a
 * worker on agent `b`, and from a worker on `b` to one on `c`, each arrive once and start in the order
 * they were sent; several senders on three hosts (and the coordinator) calling one receiver at once keep
 * each sender's order. The agents run on this machine, but stand for machines of their own: the
 * cross-host pairs are checked to go over NATS.
 */
import test, { type ExecutionContext } from 'ava';
import { type ClusterOptions, RemoteError, notify } from '../src/index.js';
import type { RemoteCounter } from './fixtures/counter.js';
import { fixture, pollUntil, sendMixedFromCoordinator, settle, startFor, within } from './helpers/cluster.js';
import { logCauses } from './helpers/deadline.js';
import { sharedHosts } from './helpers/hosts.js';
import { failOnLeaks } from './helpers/leaks.js';

const hosts = sharedHosts(test, ['b', 'c']);
failOnLeaks(test);

const counter = fixture('counter.ts');
const COUNT = 100_000;
const DEADLINE_MS = 60_000;

test.serial(`coordinator → b and b → c: ${COUNT} mixed calls and notifies each, in order, over NATS`, async (t) => {
  const cluster = await startFor(t, {
    nats: hosts().nats,
    // Not a test of heartbeats: a flood over NATS on a loaded machine can starve an agent (as below).
    heartbeatIntervalMs: 500,
    heartbeatTimeoutMs: 15_000,
    workers: [
      { name: 'b1', module: counter, host: 'b' },
      { name: 'c1', module: counter, host: 'c', kind: 'process' },
    ],
  });
  const b1 = cluster.worker<RemoteCounter>('b1');
  await within(sendMixedFromCoordinator(b1, COUNT), DEADLINE_MS, 'coordinator → b1');
  t.deepEqual(await b1.orderOf('coordinator'), { count: COUNT, firstOutOfOrder: -1 });

  await within(b1.sendMixed('c1', COUNT), DEADLINE_MS, 'b1 → c1');
  t.deepEqual(await cluster.worker<RemoteCounter>('c1').orderOf('b1'), { count: COUNT, firstOutOfOrder: -1 });

  const stats = await cluster.stats();
  t.is(stats.workers.find((w) => w.name === 'b1')?.control?.transport, 'nats');
  t.is(stats.workers.find((w) => w.name === 'b1')?.peers.find((p) => p.peer === 'c1')?.transport, 'nats');
});

test.serial(
  'fan-in: senders on b, on c, on this host and the coordinator call one receiver on c at once; each keeps its order',
  async (t) => {
    const senders = ['b1', 'b2', 'c2', 'a'];
    const cluster = await startFor(t, {
      nats: hosts().nats,
      // Not a test of heartbeats: five floods into one receiver on a loaded machine can starve its agent.
      heartbeatIntervalMs: 500,
      heartbeatTimeoutMs: 15_000,
      workers: [
        { name: 'receiver', module: counter, host: 'c' },
        { name: 'b1', module: counter, host: 'b' },
        { name: 'b2', module: counter, host: 'b', kind: 'process' },
        { name: 'c2', module: counter, host: 'c' },
        { name: 'a', module: counter },
      ],
    });
    const each = 20_000;
    const receiver = cluster.worker<RemoteCounter>('receiver');
    const fromCoordinator = (async () => {
      const calls: Promise<unknown>[] = [];
      for (let seq = 0; seq < each; seq++) {
        if (seq % 2 === 0) {
          const call = receiver.record('coordinator', seq);
          // Handled now, judged below: a death mid-run is one failure, not thousands of unhandled rejections.
          call.catch(() => {});
          calls.push(call);
        } else await notify(receiver).record('coordinator', seq);
      }
      await Promise.all(calls);
      await receiver.get();
    })();
    // Failed in full runs, 'disconnected' by a reset from the receiver: the wiring's own call to it overtook
    // the coordinator's calls held by flow control, and their smaller ids broke its channel (fixed).
    await within(
      Promise.all([...senders.map((name) => cluster.worker<RemoteCounter>(name).sendMixed('receiver', each)), fromCoordinator]),
      DEADLINE_MS,
      'every sender done',
    ).catch(logCauses(t));
    for (const from of [...senders, 'coordinator']) t.deepEqual(await receiver.orderOf(from), { count: each, firstOutOfOrder: -1 }, from);
    const stats = await cluster.stats();
    const transports = Object.fromEntries(
      stats.workers.find((w) => w.name === 'receiver')!.peers.map((peer) => [peer.peer, peer.transport] as const),
    );
    t.deepEqual(transports, { b1: 'nats', b2: 'nats', c2: 'port', a: 'nats' });
  },
);

/**
 * A pair across hosts opens on its first call: the coordinator tells both sides to bind it, over their
 * control channels, where the word waits behind whatever came before it. A receiver busy longer than
 * `startTimeoutMs` (the deadline its opening used to have) binds late: the calls wait for it.
 */
// Not a test of heartbeats: a receiver busy this long is not hung.
const PATIENT = { heartbeatIntervalMs: 500, heartbeatTimeoutMs: 60_000 } as const;
const START_TIMEOUT_MS = 15_000;
const BUSY_MS = 18_000;

/** A receiver on host c and a sender on host b, patient with a busy worker. */
function startReceiverAndSender(t: ExecutionContext, options: Partial<ClusterOptions> = {}) {
  return startFor(t, {
    nats: hosts().nats,
    ...PATIENT,
    ...options,
    workers: [
      { name: 'receiver', module: counter, host: 'c' },
      { name: 'b1', module: counter, host: 'b' },
    ],
  });
}

test.serial(`a pair whose receiver binds its side ${BUSY_MS} ms late, past startTimeoutMs: no call is lost or reordered`, async (t) => {
  const cluster = await startReceiverAndSender(t, { startTimeoutMs: START_TIMEOUT_MS });
  const receiver = cluster.worker<RemoteCounter>('receiver');
  // Its event loop held: the word to bind the pair comes after this call.
  const busy = receiver.spin(BUSY_MS);
  const sent = cluster.worker<RemoteCounter>('b1').sendMixed('receiver', 2000);
  await within(Promise.all([busy, sent]), BUSY_MS + DEADLINE_MS, 'b1 → receiver').catch(logCauses(t));
  t.deepEqual(await receiver.orderOf('b1'), { count: 2000, firstOutOfOrder: -1 });
});

test.serial('a pair whose receiver is killed before it binds its side: the calls waiting on it fail with that death', async (t) => {
  const cluster = await startReceiverAndSender(t);
  const receiver = cluster.worker<RemoteCounter>('receiver');
  void receiver.spin(60_000).catch(() => {});
  const sent = settle(cluster.worker<RemoteCounter>('b1').sendMixed('receiver', 2000));
  // b1 has bound its side of the pair, and its calls wait there for the other side.
  await pollUntil(
    async () => (await cluster.stats()).workers.find((w) => w.name === 'b1')?.peers.some((p) => p.peer === 'receiver') === true,
    30_000,
    "b1's side of the pair",
  );
  await cluster.kill('receiver');
  const result = await within(sent, 10_000, "b1's calls");
  t.false(result.ok);
  const error = result.ok ? undefined : result.error;
  t.true(error instanceof RemoteError && error.remoteName === 'WorkerDiedError', String(error));
  t.like((error as RemoteError).data, { worker: 'receiver', reason: 'killed' });
});
