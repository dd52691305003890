/**
 * Values nested too deep to cross (src/protocol/nesting.ts): a worker thread's stack is larger than the
 * coordinator's, so a thread could encode what the coordinator cannot decode, and Node clones a pool
 * thread's results, errors and uncaught error to the coordinator, whose decoder recurses. Each such value
 * fails its own call, and nothing else: the worker, the pool and the coordinator go on.
 */
import test from 'ava';
import { RemoteError, SerializationError } from '../src/index.js';
import { MAX_NESTING_DEPTH } from '../src/protocol/nesting.js';
import { nested } from './fixtures/nested.js';
import { exitLog, fixture, startFor } from './helpers/cluster.js';

type PoolTasks = typeof import('./fixtures/pool-tasks.js');

interface Probe {
  deepValue(depth: number): Promise<object>;
  ping(): Promise<string>;
}

for (const kind of ['thread', 'process'] as const) {
  test(`a ${kind}'s result nested past the bound fails that call with SerializationError, and the ${kind} goes on`, async (t) => {
    const cluster = await startFor(t, { workers: [{ name: 'v', module: fixture('crash-probe.ts'), kind }] });
    const log = exitLog(cluster);
    const v = cluster.worker<Probe>('v');
    // 4 000 levels: a thread encodes them, and the coordinator's decoder overflowed its stack on them,
    // which ended the channel (ProtocolError) and with it the thread.
    for (const depth of [MAX_NESTING_DEPTH + 10, 4_000]) {
      const error = await t.throwsAsync(v.deepValue(depth), { instanceOf: SerializationError });
      t.regex(String(error?.message), /nests deeper than 1000 levels|nested too deep to walk/);
    }
    t.truthy(await v.deepValue(MAX_NESTING_DEPTH - 10), 'a value within the bound still crosses');
    t.is(await v.ping(), 'pong');
    t.deepEqual(log.events, [], 'no worker exited');
  });
}

test('a value nested past the bound is refused as it is sent, before it leaves', async (t) => {
  const cluster = await startFor(t, { workers: [{ name: 'v', module: fixture('crash-probe.ts'), kind: 'thread' }] });
  const v = cluster.worker<Probe & { ping(arg?: unknown): Promise<string> }>('v');
  await t.throwsAsync(v.ping(nested(MAX_NESTING_DEPTH + 10)), { instanceOf: SerializationError, message: /nests deeper than 1000 levels/ });
  t.is(await v.ping(), 'pong');
});

test('the pool: a result, an error or a thread-ending error nested too deep fails its task, as does an argument or a result that cannot be sent; the pool and the coordinator go on', async (t) => {
  const cluster = await startFor(t, {
    pool: { module: fixture('pool-tasks.ts'), maxThreads: 1 },
    workers: [{ name: 'v', module: fixture('counter.ts'), kind: 'thread' }],
  });
  const pool = cluster.pool<PoolTasks>();
  // Each used to hang its task and every later one (the clone never arrived), or to take the
  // coordinator down with a RangeError in Node's own handling of the pool thread's error.
  await t.throwsAsync(pool.deepResult(10_000), { instanceOf: SerializationError, message: /nests deeper than 1000 levels/ });
  t.is(await pool.add(1, 2), 3);
  const failure = await t.throwsAsync(pool.deepFailure(10_000), { instanceOf: RemoteError });
  t.is(failure?.message, 'deep failure');
  t.is(await pool.add(2, 3), 5);
  const crash = await t.throwsAsync(pool.deepCrash(10_000));
  t.regex(String(crash?.message), /deep crash/);
  t.is(await pool.add(3, 4), 7, 'a new pool thread answers');
  // Not about nesting, but the same rule: what cannot be sent fails as the caller's SerializationError.
  const unsendable = (pool.add as unknown as (a: unknown, b: number) => Promise<number>)(() => 1, 2);
  await t.throwsAsync(unsendable, { instanceOf: SerializationError, message: /cannot be sent to the pool/ });
  // A result with a function failed after the task, in piscina's clone, which ended the pool thread
  // with an error the coordinator got as an empty object ("Non-error thrown: [object Object]").
  await t.throwsAsync(pool.unsendableResult(), {
    instanceOf: SerializationError,
    message: 'The result of `unsendableResult` cannot be sent: it holds a function',
  });
  t.is(await pool.add(4, 5), 9);
});
