/**
 * close(): every pending call settles with ERR_CONVOY_CLOSED, the workers are gone, later calls fail at
 * once, close() is idempotent, `await using` closes at the end of the block, and a hung worker cannot
 * hold close() up.
 */
import { readFileSync, readdirSync } from 'node:fs';
import test from 'ava';
import { ClusterClosedError, WorkerDiedError, notify, startCluster, type Remote } from '../src/index.js';
import type { Counter } from './fixtures/counter.js';
import { fixture, pidAlive, rejection, settle, startFor, within } from './helpers/cluster.js';
import { nextEvent } from './helpers/deadline.js';

const CLOSE_MS = 10_000;
const AT_ONCE_MS = 250;

function assertClosed(t: import('ava').ExecutionContext, error: unknown, what: string): void {
  t.true(error instanceof ClusterClosedError, `${what}: ClusterClosedError, got ${String(error)}`);
  t.is((error as ClusterClosedError).code, 'ERR_CONVOY_CLOSED', what);
}

test('close() settles every pending call with ERR_CONVOY_CLOSED, ends the workers, and is idempotent', async (t) => {
  const cluster = await startFor(t, {
    workers: [
      { name: 'a', module: fixture('counter.ts'), kind: 'thread' },
      { name: 'b', module: fixture('counter.ts'), kind: 'process' },
    ],
  });
  const a = cluster.worker<Counter>('a');
  const b = cluster.worker<Counter>('b');
  const pid = await b.pid();
  let exits = 0;
  cluster.on('worker-exit', () => exits++);

  // Pending: sent and started (behind answered barriers), on both kinds; plus a peer call in flight.
  const pending = [settle(a.sleep(60_000)), settle(b.sleep(60_000)), settle(a.relay('b', 1)), settle(b.sleep(60_000))];
  await Promise.all([a.inc(0), b.inc(0)]);
  const peerPending = settle(a.tryCall('b', 'sleep', [60_000]));
  // Queued in the same turn as close(): never sent.
  const queued = settle(b.inc(1));

  const started = performance.now();
  const first = cluster.close();
  const second = cluster.close();
  await within(Promise.all([first, second]), CLOSE_MS, 'close()');
  t.log(`close() took ${(performance.now() - started).toFixed(0)} ms`);

  const results = await within(Promise.all(pending), 1000, 'pending calls settled by the time close() resolved');
  // relay may have finished before close; the long sleeps cannot have.
  for (const i of [0, 1, 3]) {
    const r = results[i]!;
    t.false(r.ok, `pending call ${i} rejected`);
    if (!r.ok) assertClosed(t, r.error, `pending call ${i}`);
  }
  const q = await queued;
  if (!q.ok) assertClosed(t, q.error, 'the call queued with close()');
  // The peer's call ended with the cluster: the call carrying it was rejected, or it came back failed.
  const peer = await within(peerPending, 1000, "the peer's call");
  if (peer.ok) t.like(peer.value, { outcome: { ok: false } });
  else assertClosed(t, peer.error, "the call that carried the peer's call");

  t.false(pidAlive(pid), 'the process worker is gone');
  t.is(exits, 0, 'close() is not a worker death: no worker-exit');

  // Later calls, notifies and kills fail at once.
  assertClosed(t, await rejection(a.inc(1), AT_ONCE_MS, 'a call after close'), 'a call after close');
  assertClosed(t, await rejection(b.inc(1), AT_ONCE_MS, 'a call after close'), 'a call after close');
  assertClosed(t, await rejection(notify(b).inc(1), AT_ONCE_MS, 'a notify after close'), 'a notify after close');
  await t.throwsAsync(() => cluster.kill('a'), { instanceOf: ClusterClosedError });
  // A third close(), after the fact, resolves too.
  await within(cluster.close(), 1000, 'close() again');
  t.like(await cluster.stats(), {
    workers: [
      { name: 'a', state: 'closed' },
      { name: 'b', state: 'closed' },
    ],
  });
});

// A review's (fault fuzz): a worker gone for good before the close answered later calls with its death.
test('calls made during and after close() to a worker gone for good fail with ERR_CONVOY_CLOSED too', async (t) => {
  const cluster = await startFor(t, {
    workers: [
      { name: 'gone', module: fixture('counter.ts'), kind: 'thread', restart: 'never' },
      { name: 'live', module: fixture('counter.ts'), kind: 'process' },
    ],
  });
  const gone = cluster.worker<Counter>('gone');
  const exited = nextEvent(cluster, 'worker-exit', CLOSE_MS, 'gone exits');
  void gone.exit(3).catch(() => {});
  await exited;
  await t.throwsAsync(gone.inc(1), { instanceOf: WorkerDiedError }, 'before the close, its death');
  const closing = cluster.close();
  const during = [gone.inc(1), notify(gone).inc(1), cluster.worker<Counter>('live').inc(1)];
  for (const [i, call] of during.entries())
    assertClosed(t, await rejection(call, AT_ONCE_MS, `call ${i} during close`), `call ${i} during close`);
  await within(closing, CLOSE_MS, 'close()');
  assertClosed(t, await rejection(gone.inc(1), AT_ONCE_MS, 'a call after close'), 'a call after close');
});

test('a call made while close() waits to report a death under way fails with ERR_CONVOY_CLOSED too', async (t) => {
  const cluster = await startFor(t, {
    workers: [
      { name: 'dying', module: fixture('counter.ts'), kind: 'process' },
      { name: 'live', module: fixture('counter.ts'), kind: 'thread' },
    ],
  });
  const exits: string[] = [];
  cluster.on('worker-exit', (event) => exits.push(`${event.name} ${event.reason}`));
  // Not awaited: its death is reported by the close, which waits for it first.
  void cluster.kill('dying');
  const closing = cluster.close();
  assertClosed(t, await rejection(cluster.worker<Counter>('live').inc(1), AT_ONCE_MS, 'a call during close'), 'a call during close');
  await within(closing, CLOSE_MS, 'close()');
  t.deepEqual(exits, ['dying killed']);
});

// A review's (fault fuzz): a worker that exited while the coordinator was busy, its death not yet read
// when close() was called (its peers had seen it), got no worker-exit.
for (const kind of ['thread', 'process'] as const) {
  test(`a ${kind} that exited while the coordinator was busy, just before close(), gets its worker-exit`, async (t) => {
    const cluster = await startFor(t, { workers: [{ name: 'w', module: fixture('counter.ts'), kind, restart: 'on-failure' }] });
    const w = cluster.worker<Counter>('w');
    await w.inc(0);
    const pid = await w.pid();
    const exits: string[] = [];
    cluster.on('worker-exit', (event) => exits.push(`${event.name} ${event.reason} ${event.exitCode} restarting=${event.restarting}`));
    const threads = () => readdirSync('/proc/self/task').length;
    const before = threads();
    // A process is gone once it is a zombie (this thread, busy, has not reaped it), a thread once its OS thread has ended.
    const gone =
      kind === 'process'
        ? () => !pidAlive(pid) || readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z')
        : () => threads() < before;
    const call = settle(w.exit(3));
    // Busy until the worker is gone: its exit and its channel's close wait, unread, behind this turn.
    const busyUntil = performance.now() + 5000;
    while (!gone() && performance.now() < busyUntil) {}
    t.true(gone(), 'the worker ended while this thread was busy');
    await within(cluster.close(), CLOSE_MS, 'close()');
    t.deepEqual(exits, ['w exit 3 restarting=false']);
    const result = await call;
    t.like(result.ok ? {} : result.error, { name: 'WorkerDiedError', reason: 'exit', exitCode: 3 });
  });
}

// The diff review's: a worker that said its last words and hangs in an 'exit' listener is stopped by its exit
// grace (heartbeatTimeoutMs), which a close did not wait for: no worker-exit, though its calls had failed.
// A thread: a process whose control channel has closed ends itself within 50 ms.
for (const kind of ['thread'] as const) {
  test(`a ${kind} that said its last words and does not finish exiting gets its worker-exit from close(), soon`, async (t) => {
    const cluster = await startFor(t, {
      heartbeatTimeoutMs: 30_000,
      workers: [{ name: 'w', module: fixture('counter.ts'), kind }],
    });
    const exits: string[] = [];
    cluster.on('worker-exit', (event) => exits.push(`${event.name} ${event.reason} ${event.exitCode}`));
    const w = cluster.worker<Counter>('w');
    const failed = await settle(w.exitSlowly(3, 60_000));
    t.like(failed.ok ? {} : failed.error, { name: 'WorkerDiedError', reason: 'exit', exitCode: 3 });
    const closing = performance.now();
    await within(cluster.close(), CLOSE_MS, 'close()');
    const closeMs = performance.now() - closing;
    t.deepEqual(exits, ['w exit 3']);
    t.true(closeMs < 6000, `closed in ${Math.round(closeMs)} ms: the 2 s wait, then the stop`);
  });
}

test('await using closes the cluster at the end of the block', async (t) => {
  let pid = 0;
  let remote: Remote<Counter> | undefined;
  {
    await using cluster = await within(
      startCluster({ workers: [{ name: 'p', module: fixture('counter.ts'), kind: 'process' }] }),
      40_000,
      'startCluster',
    );
    const p = cluster.worker<Counter>('p');
    remote = p;
    pid = await p.pid();
    t.true(pidAlive(pid));
  }
  // Disposal awaited close(): the process is gone and the proxy is closed.
  t.false(pidAlive(pid), 'the worker process is gone after the block');
  assertClosed(t, await rejection(remote!.inc(1), AT_ONCE_MS, 'a call after disposal'), 'a call after disposal');
});

test('close() ends a hung worker too, in bounded time', async (t) => {
  const cluster = await startFor(t, {
    workers: [
      { name: 'h', module: fixture('counter.ts'), kind: 'process' },
      { name: 'ht', module: fixture('counter.ts'), kind: 'thread' },
    ],
  });
  const pid = await cluster.worker<Counter>('h').pid();
  const hung = [settle(cluster.worker<Counter>('h').hang()), settle(cluster.worker<Counter>('ht').hang())];
  // hang() goes before close()'s shutdown call on the same channel, so by FIFO each worker is spinning
  // when asked to shut down, and never answers.
  const started = performance.now();
  await within(cluster.close(), CLOSE_MS, 'close() with hung workers');
  t.log(`close() took ${(performance.now() - started).toFixed(0)} ms`);
  for (const [i, call] of (await Promise.all(hung)).entries()) {
    t.false(call.ok);
    if (!call.ok) assertClosed(t, call.error, `hang() call ${i}`);
  }
  t.false(pidAlive(pid), 'the hung process is gone');
});
