/**
 * A 4-worker mesh — two threads and two processes, all loading the `.ts` counter fixture — shared by
 * every test in this file (none of them kills a worker): reachability, per-pair FIFO under a mixed load
 * of calls and notifies, coordinator → worker FIFO, and stats(). Reachability and FIFO run on two such
 * meshes: threads' channels on their MessagePorts, and on shared-memory rings.
 */
import test from 'ava';
import { notify, startCluster, type Cluster, type ClusterOptions } from '../src/index.js';
import type { Counter } from './fixtures/counter.js';
import { THREAD_TRANSPORTS, fixture, within } from './helpers/cluster.js';

const NAMES = ['t-0', 't-1', 'p-0', 'p-1'];
type Label = (typeof THREAD_TRANSPORTS)[number]['label'];
const starting: Promise<Cluster>[] = [];
const meshes = new Map<Label, Cluster>();
/** The mesh on MessagePorts, for the tests that do not depend on the thread transport. */
let cluster: Cluster;

test.before(async () => {
  for (const { label, options } of THREAD_TRANSPORTS) {
    const mesh = startMesh(options);
    starting.push(mesh);
    meshes.set(label, await within(mesh, 40_000, `startCluster with 4 workers (${label})`));
  }
  cluster = meshes.get('port')!;
});

function startMesh(options: Partial<ClusterOptions>): Promise<Cluster> {
  return startCluster({
    ...options,
    workers: [
      {
        name: 't',
        module: fixture('counter.ts'),
        kind: 'thread',
        count: 2,
        data: { role: 'thread' },
        env: { CONVOY_TEST_ROLE: 't' },
        argv: ['--role=t'],
      },
      {
        name: 'p',
        module: fixture('counter.ts'),
        kind: 'process',
        count: 2,
        data: { role: 'process' },
        env: { CONVOY_TEST_ROLE: 'p' },
        argv: ['--role=p'],
      },
    ],
  });
}

test.after.always(async () => {
  // Closes the clusters even if a start outlived the deadline above.
  await Promise.all(starting.map(async (mesh) => (await mesh.catch(() => undefined))?.close()));
});

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

test('names and ctx.peers: each worker knows every other worker, not itself', async (t) => {
  t.deepEqual(cluster.names, NAMES);
  for (const name of NAMES) {
    const w = cluster.worker<Counter>(name);
    t.is(await w.name(), name);
    t.deepEqual([...(await w.peers())].sort(), NAMES.filter((n) => n !== name).sort(), `ctx.peers of ${name}`);
  }
});

test('each worker gets its spec: data as ctx.data, env, argv', async (t) => {
  for (const name of NAMES) {
    const kind = name.startsWith('t') ? 'thread' : 'process';
    t.deepEqual(
      await cluster.worker<Counter>(name).spec('CONVOY_TEST_ROLE'),
      {
        data: { role: kind },
        env: name[0],
        argv: [`--role=${name[0]}`],
      },
      name,
    );
  }
  t.is(process.env.CONVOY_TEST_ROLE, undefined, "a thread's env does not leak into the coordinator");
});

test('unknown names fail clearly; `await remote` does not hang', async (t) => {
  t.throws(() => cluster.worker('nobody'), { instanceOf: TypeError });
  const { outcome } = await cluster
    .worker<Counter>('t-0')
    .tryCall('t-0', 'name', [])
    .catch((error: unknown) => ({ outcome: error }));
  // A worker has no channel to itself: ctx.peer(own name) throws inside the handler, and that comes back.
  t.like(outcome, { code: 'ERR_CONVOY_REMOTE', remoteName: 'TypeError' });
  t.regex((outcome as Error).message, /Worker "t-0" is not its own peer/);
  const remote = cluster.worker<Counter>('p-0');
  t.is(await within(Promise.resolve(remote), 1000, 'await remote'), remote);
  const missing = await cluster.worker<Record<string, () => Promise<unknown>>>('p-0').noSuchMethod!().catch((error: unknown) => error);
  t.like(missing, { code: 'ERR_CONVOY_NO_METHOD' });
});

// A review's: a name starting with NUL reached convoy's own control handlers on the coordinator's channel:
// `'\0stats'` answered the runtime's figures, `'\0shutdown'` made the worker exit.
test('a method name starting with NUL is no method: refused at the caller, call or notify, and the worker lives on', async (t) => {
  for (const name of ['t-0', 'p-0']) {
    const remote = cluster.worker<Record<string, (...args: unknown[]) => Promise<unknown>>>(name);
    for (const method of ['\0shutdown', '\0stats', '\0']) {
      await t.throwsAsync(remote[method]!(), { code: 'ERR_CONVOY_NO_METHOD', message: new RegExp(`^No method .* on worker "${name}"`) });
      await t.throwsAsync(notify(remote)[method]!(), { code: 'ERR_CONVOY_NO_METHOD' });
    }
    t.is(await cluster.worker<Counter>(name).name(), name, `${name} still answers`);
  }
  const { outcome } = await cluster.worker<Counter>('t-0').tryCall('p-0', '\0shutdown', []);
  t.like(outcome, { ok: false, code: 'ERR_CONVOY_NO_METHOD' }, 'nor from a peer');
});

for (const { label } of THREAD_TRANSPORTS) {
  test(`${label}: every worker reaches every peer directly (thread↔thread, thread↔process, process↔process)`, async (t) => {
    const cluster = meshes.get(label)!;
    const checks = NAMES.flatMap((from) =>
      NAMES.filter((to) => to !== from).map(async (to) => {
        const { outcome } = await cluster.worker<Counter>(from).tryCall(to, 'name', []);
        t.deepEqual(outcome, { ok: true, value: to }, `${from} → ${to}`);
      }),
    );
    await within(Promise.all(checks), 10_000, 'all 12 pair calls');
    // relay: the callee's counter really moves.
    const before = await cluster.worker<Counter>('p-1').get();
    t.is(await cluster.worker<Counter>('t-0').relay('p-1', 5), before + 5);
    t.is(await cluster.worker<Counter>('p-0').relay('t-1', 0), await cluster.worker<Counter>('t-1').get());
  });

  test(`${label}: per-pair FIFO on all 12 ordered pairs under a mixed load of calls and notifies`, async (t) => {
    const cluster = meshes.get(label)!;
    const N = 400;
    const sends = NAMES.flatMap((from) => NAMES.filter((to) => to !== from).map((to) => cluster.worker<Counter>(from).sendSequence(to, N)));
    await within(Promise.all(sends), 20_000, 'every worker sending to every peer');
    for (const receiver of NAMES) {
      for (const sender of NAMES.filter((n) => n !== receiver)) {
        const seen = await cluster.worker<Counter>(receiver).seen(sender);
        t.deepEqual(seen, range(N), `${sender} → ${receiver}`);
      }
    }
  });

  test(`${label}: coordinator → worker FIFO with awaited calls, calls in flight and notifies mixed`, async (t) => {
    const cluster = meshes.get(label)!;
    const N = 1000;
    await Promise.all(
      NAMES.map(async (name) => {
        const w = cluster.worker<Counter>(name);
        const inFlight: Promise<unknown>[] = [];
        for (let seq = 0; seq < N; seq++) {
          if (seq % 4 === 0) await w.record('coordinator', seq);
          else if (seq % 4 === 2) inFlight.push(w.record('coordinator', seq));
          else void notify(w).record('coordinator', seq);
        }
        await within(Promise.all(inFlight), 10_000, `calls to ${name}`);
        t.deepEqual(await w.seen('coordinator'), range(N), `coordinator → ${name}`);
      }),
    );
  });
}

test('stats(): kind, pid, state, incarnation and restarts per worker; channel counters move after calls', async (t) => {
  // Channels open on first use: make every pair talk once, so every worker lists every peer.
  await within(
    Promise.all(
      NAMES.flatMap((from) => NAMES.filter((to) => to !== from).map((to) => cluster.worker<Counter>(from).tryCall(to, 'name', []))),
    ),
    10_000,
    'a call on every pair',
  );
  const pids = Object.fromEntries(await Promise.all(NAMES.map(async (n) => [n, await cluster.worker<Counter>(n).pid()] as const)));
  const before = await cluster.stats();
  t.deepEqual(
    before.workers.map((w) => w.name),
    NAMES,
  );
  for (const w of before.workers) {
    t.like(w, { kind: w.name.startsWith('t') ? 'thread' : 'process', state: 'ready', incarnation: 0, restarts: 0 }, w.name);
    t.is(w.pid, pids[w.name], `pid of ${w.name}`);
    if (w.kind === 'thread') t.true(w.threadId > 0, `threadId of ${w.name}`);
    else t.not(w.pid, process.pid);
    t.truthy(w.control, `control channel of ${w.name}`);
    t.deepEqual(w.peers.map((p) => p.peer).sort(), NAMES.filter((n) => n !== w.name).sort(), `peer channels of ${w.name}`);
  }
  t.is(before.pool, undefined);

  const CALLS = 7;
  for (let i = 0; i < CALLS; i++) await cluster.worker<Counter>('t-1').relay('p-0', 1);
  void notify(cluster.worker<Counter>('t-1')).inc(0);
  await cluster.worker<Counter>('t-1').get();

  const after = await cluster.stats();
  const b = before.workers.find((w) => w.name === 't-1')!;
  const a = after.workers.find((w) => w.name === 't-1')!;
  // Other tests in this file run alongside: counters only grow, so check growth by at least ours.
  t.true(a.control!.calls >= b.control!.calls + CALLS + 1, 'coordinator → t-1 calls');
  t.true(a.control!.notifies >= b.control!.notifies + 1, 'coordinator → t-1 notifies');
  t.true(a.control!.replies >= b.control!.replies + CALLS + 1, 'replies from t-1');
  t.true(a.control!.bytesSent > b.control!.bytesSent);
  t.true(a.control!.batchesReceived > b.control!.batchesReceived);
  const bp = b.peers.find((p) => p.peer === 'p-0')!;
  const ap = a.peers.find((p) => p.peer === 'p-0')!;
  t.true(ap.calls >= bp.calls + CALLS, 't-1 → p-0 calls');
  t.true(ap.replies >= bp.replies + CALLS, 'replies from p-0 to t-1');
  t.true(ap.bytesSent > bp.bytesSent);
  const p0 = after.workers.find((w) => w.name === 'p-0')!.peers.find((p) => p.peer === 't-1')!;
  const p0before = before.workers.find((w) => w.name === 'p-0')!.peers.find((p) => p.peer === 't-1')!;
  t.true(p0.served >= p0before.served + CALLS, 'p-0 served the calls from t-1');
});
