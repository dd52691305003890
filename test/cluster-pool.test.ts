/** The pooled path: piscina tasks from the coordinator and from workers, with ArrayBuffers transferred. */
import { inspect } from 'node:util';
import test from 'ava';
import { RemoteError, SerializationError, notify, startCluster, type Cluster, type DashboardSnapshot } from '../src/index.js';
import type { Counter } from './fixtures/counter.js';
import { MB, mb, readMemory, retained } from './fixtures/hardening-memory.js';
import { fixture, pollUntil, settle, startFor, within } from './helpers/cluster.js';
import { nested } from './fixtures/nested.js';
import { MAX_NESTING_DEPTH } from '../src/protocol/nesting.js';

type PoolTasks = typeof import('./fixtures/pool-tasks.js');

// One cluster for the file: no test here kills a worker.
let starting: Promise<Cluster> | undefined;

test.before(() => {
  starting = startCluster({
    pool: { module: fixture('pool-tasks.ts'), maxThreads: 2 },
    workers: [
      { name: 'wt', module: fixture('counter.ts'), kind: 'thread' },
      { name: 'wp', module: fixture('counter.ts'), kind: 'process' },
    ],
  });
});

test.after.always(async () => {
  await (await starting?.catch(() => undefined))?.close();
});

const start = (_t: unknown) => within(starting!, 40_000, 'startCluster with a pool');

test('cluster.pool(): tasks run, ArrayBuffers are transferred, two threads run in parallel, errors come back', async (t) => {
  const cluster = await start(t);
  const pool = cluster.pool<PoolTasks>();
  t.is(cluster.pool<PoolTasks>(), pool, 'the proxy is memoized');
  t.is(await pool.add(2, 3), 5);

  const buffer = new ArrayBuffer(4096);
  new Uint8Array(buffer).fill(1);
  const seen = await pool.sum(buffer);
  t.is(seen.sum, 4096, 'the pool thread got the bytes');
  t.is(buffer.byteLength, 0, 'the caller’s ArrayBuffer was transferred (detached), not copied');
  const view = new Uint8Array(1000);
  t.is(await pool.byteLength(view), 1000);
  t.is(view.byteLength, 0, 'a whole-buffer Uint8Array is transferred too');

  // maxThreads: 2 — two tasks meet inside the pool at the same time, on different threads.
  const shared = new SharedArrayBuffer(4);
  const [a, b] = await within(
    Promise.all([pool.rendezvous(shared, 2, 10_000), pool.rendezvous(shared, 2, 10_000)]),
    15_000,
    'two pool tasks meeting',
  );
  t.true(a.met && b.met, 'both tasks ran at once');
  t.not(a.threadId, b.threadId);

  const failed = await settle(pool.fail('nope'));
  t.false(failed.ok);
  if (!failed.ok) {
    t.true(failed.error instanceof RemoteError);
    t.like(failed.error, { code: 'ERR_CONVOY_REMOTE', remoteName: 'RangeError', message: 'nope' });
  }
  const stats = await cluster.stats();
  t.truthy(stats.pool);
  // Other tests share the pool: at least this test's 6 tasks are done.
  t.true(stats.pool!.completed >= 6, `completed: ${stats.pool!.completed}`);
  t.true(stats.pool!.threads >= 1 && stats.pool!.threads <= 2, `threads: ${stats.pool!.threads}`);
});

test('ctx.pool() from a thread worker and from a process worker', async (t) => {
  const cluster = await start(t);
  t.is(await cluster.worker<Counter>('wt').viaPool('add', [20, 22]), 42);
  t.is(await cluster.worker<Counter>('wp').viaPool('add', [1, 2]), 3);
  const failed = await settle(cluster.worker<Counter>('wp').viaPool('fail', ['from a worker']));
  t.false(failed.ok);
  if (!failed.ok) t.like(failed.error, { code: 'ERR_CONVOY_REMOTE' });
});

// A review's: through ctx.pool() a task's RangeError with its code arrived as a RemoteError of a
// RemoteError (remoteName 'RemoteError', the code at data.data.code), and an unknown task as a RemoteError
// of ERR_CONVOY_NO_METHOD: code that reads e.data.code worked from the coordinator and broke in a worker.
test('ctx.pool() fails as cluster.pool() does: a task’s error with its own class and data, an unknown task with MethodNotFoundError', async (t) => {
  const cluster = await start(t);
  for (const name of ['wt', 'wp']) {
    const worker = cluster.worker<Counter>(name);
    t.like(await worker.viaPoolWithin('fail', ['from a worker'], 0), {
      ok: false,
      name: 'RemoteError',
      code: 'ERR_CONVOY_REMOTE',
      remoteName: 'RangeError',
      message: 'from a worker',
      data: { code: 'FIXTURE_POOL_FAILED' },
    });
    t.like(await worker.viaPoolWithin('noSuchTask', [], 0), {
      ok: false,
      name: 'MethodNotFoundError',
      code: 'ERR_CONVOY_NO_METHOD',
      message: 'No method `noSuchTask` on the pool',
    });
  }
});

test('without a pool, ctx.pool() in a thread or a process throws a TypeError at once, as cluster.pool() does', async (t) => {
  const cluster = await startFor(t, {
    workers: [
      { name: 'nt', module: fixture('counter.ts'), kind: 'thread' },
      { name: 'np', module: fixture('counter.ts'), kind: 'process' },
    ],
  });
  const local = t.throws(() => cluster.pool(), { instanceOf: TypeError });
  for (const name of ['nt', 'np']) {
    t.deepEqual(await cluster.worker<Counter>(name).poolRefusal(), { name: 'TypeError', message: local!.message }, name);
  }
  // With a pool, it gives a remote.
  t.is(await (await start(t)).worker<Counter>('wt').poolRefusal(), null);
});

// Regression: piscina hands a task's error back by structured clone, which drops own properties, so a
// pool task's RemoteError had an empty `data` and an unknown task was a plain RemoteError. The pool
// thread now throws the error in convoy's wire form.
test('remotes print as what they reach: a worker, a peer, the coordinator, the pool', async (t) => {
  const cluster = await start(t);
  t.is(inspect(cluster.worker('wt')), '[Remote: wt]');
  t.is(inspect(notify(cluster.worker('wp'))), '[Notifier: wp]');
  t.is(inspect(cluster.pool()), '[Remote: pool]');
  for (const [from, to] of [
    ['wt', 'wp'],
    ['wp', 'wt'],
  ] as const) {
    t.deepEqual(await cluster.worker<Counter>(from).inspectRemotes(to), [
      `[Remote: ${to}]`,
      `[Notifier: ${to}]`,
      '[Remote: coordinator]',
      '[Remote: pool]',
    ]);
  }
});

test('a pool task error keeps its own properties in RemoteError.data (code)', async (t) => {
  const cluster = await start(t);
  const result = await settle(cluster.pool<PoolTasks>().fail('with a code'));
  t.false(result.ok);
  if (!result.ok) t.like(result.error, { code: 'ERR_CONVOY_REMOTE', remoteName: 'RangeError', data: { code: 'FIXTURE_POOL_FAILED' } });
});

test('an unknown pool task rejects with ERR_CONVOY_NO_METHOD, like any Remote', async (t) => {
  const cluster = await start(t);
  const pool = cluster.pool<Record<string, () => Promise<unknown>>>();
  const result = await settle(pool.noSuchTask!());
  t.false(result.ok);
  if (!result.ok) t.like(result.error, { code: 'ERR_CONVOY_NO_METHOD', message: 'No method `noSuchTask` on the pool' });
});

// From the review of 24dfe8c: these failed in piscina's clone, with no answer of the task's, and were
// reported as the pool thread's death ("crash … may or may not have run"), its thread alive and the task
// never run (an argument), or as an unexplained crash (a result).
test('an argument or result structured clone refuses is the caller’s SerializationError, not a death of the pool', async (t) => {
  const cluster = await start(t);
  const pool = cluster.pool<PoolTasks>();
  const throwing = {
    get x(): never {
      throw new Error('argument getter threw');
    },
  };
  for (const argument of [throwing, { w: new WeakMap() }, [new WeakSet()]]) {
    for (const withBuffer of [false, true]) {
      const args = withBuffer ? [argument, new ArrayBuffer(4)] : [argument];
      const error = await t.throwsAsync((pool.echo as (...a: unknown[]) => Promise<unknown>)(...args), { instanceOf: SerializationError });
      t.regex(error!.message, /^An argument of `echo` cannot be sent to the pool: /);
    }
  }
  // A notify is refused the same way, at once, as a worker's notify is (it resolved, then warned).
  await t.throwsAsync(notify(pool).echo(throwing), {
    instanceOf: SerializationError,
    message: /^An argument of `echo` cannot be sent to the pool: /,
  });
  await t.throwsAsync(pool.weakResult(), {
    instanceOf: SerializationError,
    message: /^The result of `weakResult` cannot be sent: it holds a WeakMap/,
  });
  // A getter that throws as the result is cloned: the thread died of it ("crash … may or may not have run").
  await t.throwsAsync(pool.throwingResult(), {
    instanceOf: SerializationError,
    message: 'The result of `throwingResult` cannot be sent: reading it threw: result getter threw',
  });
  t.is(await pool.add(1, 2), 3);
});

test('a remote, a function or nesting too deep is refused as a pool argument, as a worker call refuses it; a cycle still crosses', async (t) => {
  const cluster = await start(t);
  const pool = cluster.pool<PoolTasks>();
  const wt = cluster.worker<Counter>('wt');
  // Cloned, a remote arrived as an empty object: its methods are not enumerable.
  for (const argument of [wt, notify(wt), { deep: [new Map([['key', new Set([wt])]])] }]) {
    await t.throwsAsync(pool.echo(argument), { instanceOf: SerializationError, message: /cannot be sent to the pool: A remote/ });
  }
  // Past the bound, clone failed in the pool thread: a RemoteError, "Maximum call stack size exceeded".
  await t.throwsAsync(pool.echo(nested(MAX_NESTING_DEPTH + 10)), {
    instanceOf: SerializationError,
    message: `An argument of \`echo\` cannot be sent to the pool: it nests deeper than ${MAX_NESTING_DEPTH} levels`,
  });
  await t.throwsAsync(pool.echo({ deep: [() => 1] }), {
    instanceOf: SerializationError,
    message: 'An argument of `echo` cannot be sent to the pool: it holds a function',
  });
  t.deepEqual(await pool.echo(nested(MAX_NESTING_DEPTH - 10)), nested(MAX_NESTING_DEPTH - 10), 'within the bound, it crosses');
  const cycle: { n: number; self?: unknown; list: unknown[] } = { n: 1, list: [] };
  cycle.self = cycle;
  cycle.list.push(cycle, new Map([[cycle, 2]]));
  const back = (await pool.echo(cycle)) as typeof cycle;
  t.is(back.self, back);
  t.is(back.list[0], back);
  t.is((back.list[1] as Map<unknown, number>).get(back), 2);
  t.is(await wt.inc(1), await wt.get(), 'the remote still works');
});

// The two floods below run alone (serial tests run before the others): sharing the pool's two threads
// with them, another test's tasks wait behind thousands of queued ones, past its deadline.
test.serial('a worker transfers 100 MB to a pool task and gets it back: moved on every hop, not copied', async (t) => {
  const cluster = await start(t);
  const size = 100_000_000;
  const before = (await cluster.stats()).workers.find((w) => w.name === 'wt')!.control!;
  const result = await within(cluster.worker<Counter>('wt').poolBytes(size), 60_000, '100 MB through the pool');
  t.deepEqual(result, { detachedAfterCall: true, size, first: 9, last: 5 });
  const after = (await cluster.stats()).workers.find((w) => w.name === 'wt')!.control!;
  // Worker → coordinator and back: the bytes moved beside the frames, they were not encoded into them.
  t.true(after.bytesTransferredReceived - before.bytesTransferredReceived >= size, 'moved from the worker');
  t.true(after.bytesTransferredSent - before.bytesTransferredSent >= size, 'moved back to the worker');
  t.true(after.bytesReceived - before.bytesReceived < 1 << 20, 'not copied into a frame');
});

test.serial('pool tasks from a worker are flow-controlled: a flood of them keeps the pool queue, and memory, bounded', async (t) => {
  t.timeout(180_000);
  const cluster = await start(t);
  // Past the window (16 MiB of cost, about 1 KiB per task: some 16k tasks) every further task only
  // replaces one that finished, so a few window-fulls show the bound as well as a million would.
  const count = 50_000;
  let maxQueued = 0;
  let peak = 0;
  const before = retained(readMemory());
  // Retained memory (after a full GC) read now and then while the flood runs, and the pool's queue.
  let ticks = 0;
  const sampler = setInterval(() => {
    if (++ticks % 10 === 0) peak = Math.max(peak, retained(readMemory()));
    void cluster.stats().then((s) => (maxQueued = Math.max(maxQueued, s.pool?.queued ?? 0)));
  }, 50);
  t.teardown(() => clearInterval(sampler));
  await within(cluster.worker<Counter>('wt').poolFlood(count), 150_000, `${count} pool tasks`);
  clearInterval(sampler);
  t.log(`${count} pool tasks: pool queue at most ${maxQueued}; coordinator retained at most ${mb(peak)} (before: ${mb(before)})`);
  t.true(maxQueued <= 20_000, `pool queue bounded by the window (${maxQueued})`);
  t.true(peak - before < 64 * MB, `coordinator memory bounded by the window (+${mb(peak - before)} at most)`);
});

// A user's walk-through of the README: `startCluster({ pool })`, as the README shows it, was refused for
// want of `workers`.
test('a cluster may be a pool alone: no workers, its tasks, stats, the dashboard (the pool on it) and close', async (t) => {
  const cluster = await startFor(t, { pool: { module: fixture('pool-tasks.ts'), maxThreads: 1 } });
  t.is((await cluster.stats()).pool!.completed, 0, "convoy's own check that the module loads is not counted");
  t.is(await cluster.pool<PoolTasks>().add(2, 3), 5);
  const stats = await cluster.stats();
  t.deepEqual(stats.workers, []);
  t.is(stats.pool!.completed, 1);
  const dashboard = await cluster.serveDashboard({ port: 0 });
  t.teardown(() => dashboard.close());
  const url = new URL(dashboard.url);
  const read = async <T>(path: string, parse: (r: Response) => Promise<T>): Promise<T> => {
    const response = await fetch(new URL(`${path}?token=${url.searchParams.get('token')}`, url));
    t.is(response.status, 200, path);
    return parse(response);
  };
  const snapshot = await read('/api/snapshot', (r) => r.json() as Promise<DashboardSnapshot>);
  t.deepEqual([snapshot.workers, snapshot.pairs], [[], []]);
  // The pool on the dashboard: its threads and tasks done, and once a reading follows more tasks, their rate.
  t.like(snapshot.cluster.pool, { threads: 1, completed: 1 });
  await Promise.all([1, 2, 3].map((n) => cluster.pool<PoolTasks>().add(n, n)));
  let latest = snapshot;
  await pollUntil(
    async () => (latest = await read('/api/snapshot', (r) => r.json() as Promise<DashboardSnapshot>)).cluster.pool!.tasksPerSec > 0,
    10_000,
    'a reading with the pool tasks a second',
  );
  t.is(latest.cluster.pool!.completed, 4);
  const metrics = await read('/metrics', (r) => r.text());
  t.regex(metrics, /^convoy_pool_tasks_completed_total 4$/m);
  t.regex(metrics, /^convoy_pool_threads 1$/m);
  await cluster.close();
  t.is((await settle(cluster.pool<PoolTasks>().add(1, 1))).ok, false, 'closed: the pool refuses');
});
