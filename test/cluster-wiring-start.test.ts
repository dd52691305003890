/**
 * Channels and starting workers. A worker's handlers exist once its factory has returned; a channel
 * bound before that must serve them from then on, and a channel asked for by an incarnation that has
 * ended must not be handed to its successor in the middle of the successor's start.
 */
import test from 'ava';
import type { WorkerHandle } from '../src/cluster/worker-handle.js';
import { Wiring } from '../src/cluster/wiring.js';
import type { PortHandoff } from '../src/protocol/control.js';
import type { Sink } from './fixtures/hardening-sink.js';
import { eventLog, fixture, handled, pollUntil, startFor, within } from './helpers/cluster.js';
import { factoryGate as gate } from './helpers/gate.js';

/** A call between two ready workers, a restart: seconds on a loaded machine. What a bug gives is never. */
const EVENT_MS = 30_000;
/** Health settings: a worker held at its gate is starting, not hung. */
const PATIENT = { restartDelayMs: 10, heartbeatTimeoutMs: 60_000 } as const;

// Every kind of pair: with a process in it, the process listens and the other side dials, so a process
// whose factory calls a peer must already be listening for that peer to reach it.
const FACTORY_PAIRS = [
  ['thread', 'thread'],
  ['process', 'thread'],
  ['process', 'process'],
  ['thread', 'process'],
] as const;

for (const [xKind, yKind] of FACTORY_PAIRS) {
  test(`a channel a ${xKind} opened from its factory to a ${yKind}, before its handlers existed, serves them once it has loaded`, async (t) => {
    const cluster = await startFor(t, {
      workers: [
        { name: 'y', module: fixture('hardening-sink.ts'), kind: yKind },
        { name: 'x', module: fixture('calls-peer-at-start.ts'), kind: xKind, data: { callAtStart: 'y' } },
      ],
    });
    const y = cluster.worker<Sink>('y');
    // y reaches x over the channel x's factory opened.
    t.deepEqual(await within(y.tryCall('x', 'inc', [1]), EVENT_MS, 'y → x'), { ok: true, value: 2 });
    t.deepEqual(await within(cluster.worker<Sink>('x').tryCall('y', 'inc', [2]), EVENT_MS, 'x → y'), { ok: true, value: 3 });
  });
}

for (const kind of ['thread', 'process'] as const) {
  test(`a peer's call that reaches a ${kind} still in its factory waits for its handlers`, async (t) => {
    const gateX = gate(t);
    const cluster = await startFor(t, {
      ...PATIENT,
      workers: [
        { name: 'y', module: fixture('hardening-sink.ts'), kind: 'thread' },
        {
          name: 'x',
          module: fixture('gated-factory.ts'),
          kind,
          restart: 'on-failure',
          data: { callAtStart: 'y' },
          env: { CONVOY_TEST_GATE: gateX.dir },
        },
      ],
    });
    const restarts = eventLog(cluster, 'worker-restart');
    const y = cluster.worker<Sink>('y');
    gateX.arm();
    await cluster.kill('x');
    // x#1 has called y (their channel is open) and waits at its gate, its handlers not there yet.
    await pollUntil(gateX.waiting, EVENT_MS, 'x#1 waiting in its factory');
    const yToX = handled(y.tryCall('x', 'inc', [1]));
    const sent = async (): Promise<boolean> => {
      const stats = await cluster.stats();
      const peer = stats.workers.find((w) => w.name === 'y')?.peers.find((p) => p.peer === 'x');
      return (peer?.inFlight ?? 0) > 0;
    };
    await pollUntil(sent, EVENT_MS, "y's call to x sent");
    gateX.release();
    await restarts.nth('x', 1, EVENT_MS);
    t.deepEqual(await within(yToX, EVENT_MS, 'y → x, made while x was in its factory'), { ok: true, value: 2 });
  });
}

/*
 * a asks for a channel to b while b restarts, and dies before b is back. When b is ready, the open that
 * a's dead incarnation asked for must not be carried out for a's next incarnation, which is still in its
 * factory: that one would get a channel before its handlers exist.
 */
test('an open asked by an incarnation that died is not carried out for the next one, which is still starting', async (t) => {
  const gateA = gate(t);
  const gateB = gate(t);
  const cluster = await startFor(t, {
    ...PATIENT,
    workers: [
      { name: 'a', module: fixture('gated-factory.ts'), kind: 'thread', restart: 'on-failure', env: { CONVOY_TEST_GATE: gateA.dir } },
      { name: 'b', module: fixture('gated-factory.ts'), kind: 'thread', restart: 'on-failure', env: { CONVOY_TEST_GATE: gateB.dir } },
    ],
  });
  const restarts = eventLog(cluster, 'worker-restart');
  const a = cluster.worker<Sink>('a');
  const b = cluster.worker<Sink>('b');

  gateB.arm();
  await cluster.kill('b');
  await pollUntil(gateB.waiting, EVENT_MS, 'b#1 waiting in its factory');
  // a's call to b waits for b; the open it asked for has reached the coordinator once a answers the
  // next call, which a handles after it, on the same control channel.
  handled(a.tryCall('b', 'inc', [0]));
  await within(a.inc(0), EVENT_MS, 'a answers');
  gateA.arm();
  await cluster.kill('a');
  await pollUntil(gateA.waiting, EVENT_MS, 'a#1 waiting in its factory');

  gateB.release();
  await restarts.nth('b', 1, EVENT_MS);
  // b's call to a is made while a#1 is still in its factory: it must wait for a#1's handlers.
  const bToA = handled(b.tryCall('a', 'inc', [1]));
  gateA.release();
  await restarts.nth('a', 1, EVENT_MS);
  t.deepEqual(await within(bToA, EVENT_MS, 'b → a, made while a was starting'), { ok: true, value: 2 });
  t.deepEqual(await within(b.tryCall('a', 'inc', [2]), EVENT_MS, 'b → a'), { ok: true, value: 3 });
  t.deepEqual(await within(a.tryCall('b', 'inc', [3]), EVENT_MS, 'a → b'), { ok: true, value: 4 });
});

/** A thread worker as the wiring sees it: who it is now, and the channels handed to it. */
function threadHandle(name: string, state: WorkerHandle['state'], incarnation: number) {
  let wake: ((ready: boolean) => void) | undefined;
  const handle = {
    name,
    kind: 'thread' as const,
    state,
    incarnation,
    received: [] as string[],
    whenReady: (_ms: number) => (handle.state === 'ready' ? Promise.resolve(true) : new Promise<boolean>((resolve) => (wake = resolve))),
    /** Incarnation `incarnation` is now ready. */
    ready(next: number) {
      handle.incarnation = next;
      handle.state = 'ready';
      wake?.(true);
    },
    child: {
      handOff: (h: PortHandoff) => {
        handle.received.push(`${h.peer}#${h.incarnation}`);
        h.port.close();
      },
    },
  };
  return handle;
}

test('an open whose asking incarnation ended while it waited for the peer is refused, and nothing is handed to the next one', async (t) => {
  const a = threadHandle('a', 'ready', 0);
  const b = threadHandle('b', 'restarting', 0);
  const wiring = new Wiring([a, b] as unknown as WorkerHandle[], {
    listenHost: '127.0.0.1',
    timeoutMs: EVENT_MS,
    pairAgentThreads: () => false,
  });
  const asked = wiring.open(a as unknown as WorkerHandle, 0, 'b', 0);
  // a#0 dies and a#1 is loading when b#1 becomes ready.
  a.incarnation = 1;
  a.state = 'starting';
  b.ready(1);
  t.deepEqual(await asked, { ok: false });
  t.deepEqual([a.received, b.received], [[], []], 'no channel for a pair nobody asked for');
  // a#1's own open, once it wants the channel, gets one.
  t.deepEqual(await wiring.open(a as unknown as WorkerHandle, 1, 'b', 0), { ok: true });
  t.deepEqual([a.received, b.received], [['b#1'], ['a#1']]);
});

// Found by a review: b's failed start left it "not ready yet" to the wiring, so a's factory, calling b,
// waited out startTimeoutMs, and startCluster then blamed a (that it did not load in time), with b's
// error nowhere in it.
test('a worker that fails to start fails a peer waiting for it at once, and the start reports its failure, not the peer’s', async (t) => {
  const startTimeoutMs = 30_000;
  const started = performance.now();
  const error = await t.throwsAsync(
    startFor(t, {
      startTimeoutMs,
      workers: [
        { name: 'a', module: fixture('calls-peer-at-start.ts'), data: { callAtStart: 'b' } },
        { name: 'b', module: fixture('throwing-factory.ts') },
      ],
    }),
  );
  t.like(error, { code: 'ERR_CONVOY_START', worker: 'b' });
  t.regex(error!.message, /the factory refuses to start/);
  t.true(performance.now() - started < startTimeoutMs / 3, `rejected after ${Math.round(performance.now() - started)} ms`);
});
