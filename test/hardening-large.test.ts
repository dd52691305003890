/**
 * Large payloads, part 1: a message over `maxFrameBytes` fails only its own call, cleanly,
 * wherever it is encoded; and the pooled path takes a 100 MB ArrayBuffer by transfer. Byte-exact 100 MB
 * transfers: hardening-large-thread.test.ts (MessagePort) and hardening-large-tcp.test.ts (TCP).
 *
 * One test at a time: several 100 MB copies in flight at once would only measure the machine.
 */
import test, { type ExecutionContext } from 'ava';
import { RemoteError, SerializationError } from '../src/index.js';
import { digest, patternBytes, patternDigest } from './fixtures/hardening-bytes.js';
import { BIG_FRAMES, BIG_MS, SIZE } from './fixtures/hardening-large-checks.js';
import type { Sink } from './fixtures/hardening-sink.js';
import { exitLog, fixture, settle, startFor, within } from './helpers/cluster.js';

type PoolTasks = typeof import('./fixtures/hardening-pool.js');

const SINK = fixture('hardening-sink.ts');

function isTooBig(t: ExecutionContext, error: unknown, what: string): void {
  t.true(error instanceof SerializationError, `${what}: SerializationError, got ${String(error)}`);
  t.is((error as SerializationError).code, 'ERR_CONVOY_SERIALIZE', what);
  t.regex((error as Error).message, /maxFrameBytes/, `${what}: the message names the option to raise`);
}

/** The same refusal met by a worker's own call and rethrown by its handler: a RemoteError that says what it was. */
function isTooBigInHandler(t: ExecutionContext, error: unknown, what: string): void {
  t.true(error instanceof RemoteError, `${what}: RemoteError, got ${String(error)}`);
  t.is((error as RemoteError).remoteName, 'SerializationError', what);
  t.is((error as RemoteError).data.code, 'ERR_CONVOY_SERIALIZE', what);
  t.regex((error as Error).message, /maxFrameBytes/, `${what}: the message names the option to raise`);
}

test.serial(
  'default maxFrameBytes (64 MiB): a 100 MB argument or result fails only its own call, naming maxFrameBytes; the channel goes on',
  async (t) => {
    const cluster = await startFor(t, {
      // msgpackr encodes all 100 MB before the size can be checked: seconds of blocking on a slow machine.
      heartbeatTimeoutMs: BIG_FRAMES.heartbeatTimeoutMs,
      workers: [
        { name: 't', module: SINK, kind: 'thread' },
        { name: 'p', module: SINK, kind: 'process' },
      ],
    });
    const exits = exitLog(cluster);
    const big = patternBytes(SIZE, 1);
    for (const name of ['t', 'p']) {
      const w = cluster.worker<Sink>(name);
      // Queued in the same turn as the big one: the refusal must not take its neighbours down.
      const before = settle(w.inc(1));
      const arg = settle(w.digest(big));
      const after = settle(w.inc(2));
      const refused = await within(arg, BIG_MS, `coordinator → ${name}: 100 MB argument`);
      t.false(refused.ok, `${name}: the argument is refused`);
      if (!refused.ok) isTooBig(t, refused.error, `coordinator → ${name}: argument`);
      t.like(await before, { ok: true, value: 2 });
      t.like(await after, { ok: true, value: 3 });
    }
    // A result over the limit: the worker's encoder refuses it, and the call fails with a fault.
    const fromThread = await within(settle(cluster.worker<Sink>('t').makeBytes(SIZE, 2)), BIG_MS, 't → coordinator: 100 MB result');
    t.false(fromThread.ok);
    if (!fromThread.ok) isTooBig(t, fromThread.error, 't → coordinator: result');
    // Between workers, over TCP, both ways: the error reaches the coordinator through t's handler.
    const t1 = cluster.worker<Sink>('t');
    const sent = await within(settle(t1.sendBytes('p', SIZE, 3)), BIG_MS, 't → p: 100 MB argument');
    t.false(sent.ok);
    if (!sent.ok) isTooBigInHandler(t, sent.error, 't → p: argument');
    const fetched = await within(settle(t1.fetchBytes('p', SIZE, 4)), BIG_MS, 'p → t: 100 MB result');
    t.false(fetched.ok);
    if (!fetched.ok) isTooBigInHandler(t, fetched.error, 'p → t: result');

    // Every channel involved still works.
    t.is(await cluster.worker<Sink>('t').inc(3), 4);
    t.is(await cluster.worker<Sink>('p').inc(4), 5);
    t.like(await t1.tryCall('p', 'inc', [5]), { ok: true, value: 6 });
    t.like(await cluster.worker<Sink>('p').tryCall('t', 'inc', [6]), { ok: true, value: 7 });
    t.deepEqual(exits.events, []);
  },
);

test.serial(
  'pool: a 100 MB ArrayBuffer is transferred to the task, not copied; a 100 MB result is moved back; ordered calls go on meanwhile',
  async (t) => {
    const cluster = await startFor(t, {
      pool: { module: fixture('hardening-pool.ts'), maxThreads: 1 },
      workers: [{ name: 'c', module: SINK, kind: 'thread' }],
    });
    const pool = cluster.pool<PoolTasks>();
    const c = cluster.worker<Sink>('c');
    await pool.digest(new ArrayBuffer(8)); // the pool thread is up
    const bytes = patternBytes(SIZE, 8);
    const expected = patternDigest(SIZE, 8);
    const task = settle(pool.digest(bytes.buffer as ArrayBuffer));
    const started = performance.now();
    const small = await within(settle(c.inc(1)), 5000, 'an ordered call while the pool works');
    const done = await within(task, BIG_MS, '100 MB pool task');
    t.log(`ordered call: ${(small.at - started).toFixed(0)} ms; 100 MB pool task: ${(done.at - started).toFixed(0)} ms`);
    t.like(small, { ok: true, value: 2 });
    t.is(bytes.byteLength, 0, "the caller's buffer was transferred (detached)");
    t.true(done.ok);
    if (done.ok) t.like(done.value, { length: SIZE, sha256: expected.sha256 });

    const back = await within(pool.make(SIZE, 9), BIG_MS, '100 MB pool result');
    t.true(back instanceof ArrayBuffer);
    t.deepEqual(digest(new Uint8Array(back)), patternDigest(SIZE, 9));
  },
);
