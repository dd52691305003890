/**
 * Link: a named target that outlives its endpoints. Parked calls wait in order for the next endpoint,
 * bounded by their timeout and signal; a dead link fails everything at once.
 */
import test from 'ava';
import { Channel } from '../src/channel/channel.js';
import { ClusterClosedError, RemoteError, SerializationError, WorkerDiedError } from '../src/errors.js';
import { Endpoint } from '../src/rpc/endpoint.js';
import { Link } from '../src/rpc/link.js';
import { transfer } from '../src/protocol/transfer.js';
import { createRemote, notify, withOptions } from '../src/rpc/remote.js';
import { createMemoryTransportPair } from '../src/transport/memory.js';
import type { OpenReply } from '../src/protocol/control.js';
import { deferred, nextTurn } from './helpers/deadline.js';
import { failOnLeaks } from './helpers/leaks.js';
import { endpointClosed } from './helpers/pairs.js';

// A call that gives up while parked must take the link's wait timer with it when it was the last one
// (it kept the process alive for the whole waitMs, 60 s here).
failOnLeaks(test);

type Api = { echo(x: number): number; log(x: number): void; never(): Promise<never> };

/** A client endpoint to a fresh server; `die(client)` ends the server's side, as the peer's death would. */
const servers = new WeakMap<Endpoint, Endpoint>();

function serve(t: { teardown(fn: () => void): void }, seen: number[] = []): Endpoint {
  const [a, b] = createMemoryTransportPair();
  const server = new Endpoint(new Channel(b), {
    api: {
      echo: (x: number) => {
        seen.push(x);
        return x;
      },
      log: (x: number) => void seen.push(x),
      never: () => new Promise(() => {}),
    },
  });
  const client = new Endpoint(new Channel(a), { peerName: 'b' });
  servers.set(client, server);
  t.teardown(() => {
    client.destroy(new ClusterClosedError());
    server.destroy(new ClusterClosedError());
  });
  return client;
}

/** How a promise settled, and when. */
function settle<T>(promise: Promise<T>): Promise<{ ok: true; at: number } | { ok: false; error: unknown; at: number }> {
  return promise.then(
    () => ({ ok: true as const, at: performance.now() }),
    (error: unknown) => ({ ok: false as const, error, at: performance.now() }),
  );
}

function die(client: Endpoint): void {
  servers.get(client)!.destroy(new Error('the peer died'));
}

test('calls and notifies made before the first endpoint run on it, in the order they were made', async (t) => {
  const link = new Link('b', { waitMs: 5000 });
  const remote = createRemote<Api>(link);
  const seen: number[] = [];
  const results = [remote.echo(1), notify(remote).log(2), remote.echo(3)];
  t.is(link.state, 'connecting');
  link.bind(serve(t, seen), 0);
  t.deepEqual(await Promise.all(results), [1, undefined, 3]);
  t.deepEqual(seen, [1, 2, 3]);
});

test('a parked call times out with TimeoutError after its own timeoutMs, not the link wait', async (t) => {
  const link = new Link('b', { waitMs: 60_000 });
  const started = performance.now();
  const error = await t.throwsAsync(withOptions(createRemote<Api>(link), { timeoutMs: 50 }).echo(1), { code: 'ERR_CONVOY_TIMEOUT' });
  t.true(performance.now() - started < 5000);
  t.regex(error!.message, /echo/);
});

test('the default call timeout bounds the wait too', async (t) => {
  const link = new Link('b', { waitMs: 60_000, callTimeoutMs: 30 });
  await t.throwsAsync(createRemote<Api>(link).echo(1), { code: 'ERR_CONVOY_TIMEOUT' });
});

test('an aborted signal fails a parked call with its reason; a later bind does not run it', async (t) => {
  const link = new Link('b', { waitMs: 60_000 });
  const controller = new AbortController();
  const seen: number[] = [];
  const call = withOptions(createRemote<Api>(link), { signal: controller.signal }).echo(7);
  controller.abort(new Error('stop'));
  await t.throwsAsync(call, { message: 'stop' });
  link.bind(serve(t, seen), 0);
  t.is(await createRemote<Api>(link).echo(8), 8);
  t.deepEqual(seen, [8]);
});

test('parked calls fail with the last death when nothing binds within waitMs', async (t) => {
  const link = new Link('b', { waitMs: 30 });
  await t.throwsAsync(createRemote<Api>(link).echo(1), { instanceOf: WorkerDiedError, code: 'ERR_CONVOY_WORKER_DIED' });
});

test("each parked call waits its own full waitMs from when it was made, not the first call's", async (t) => {
  const waitMs = 400;
  const link = new Link('b', { waitMs });
  const remote = createRemote<Api>(link);
  const first = settle(remote.echo(1));
  // A gap between the two parks: the second must not expire with the first.
  await new Promise((resolve) => setTimeout(resolve, waitMs / 2));
  const secondAt = performance.now();
  const second = settle(remote.echo(2));
  const a = await first;
  t.false(a.ok, 'the first call gave up');
  t.is(await Promise.race([second.then(() => 'settled'), Promise.resolve('pending')]), 'pending', 'the second still waits');
  const b = await second;
  t.false(b.ok, 'the second gave up too');
  t.true(b.at - secondAt >= waitMs - 5, `the second waited its own ${waitMs} ms (${(b.at - secondAt).toFixed(0)} ms)`);
  t.like(b.ok ? {} : b.error, { code: 'ERR_CONVOY_WORKER_DIED', mayHaveRun: false });
});

// A review's: a parked call or notify that could not be sent rejected with the bare error, without the
// "The arguments of `m` cannot be sent to worker …" an open channel's refusal has.
test('a parked call or notify whose transferred argument cannot be sent is refused as an open channel refuses it', async (t) => {
  const link = new Link('b', { waitMs: 60_000 });
  const cyclic: Record<string, unknown> = { bytes: new Uint8Array(4) };
  cyclic.self = cyclic;
  const marked = () => transfer(cyclic, [(cyclic.bytes as Uint8Array).buffer as ArrayBuffer]);
  const words = /^The arguments of `echo` cannot be sent to worker "b": A circular structure cannot be sent$/;
  await t.throwsAsync(link.call('echo', [marked()]), { instanceOf: SerializationError, message: words });
  await t.throwsAsync(link.notify('echo', [marked()]), { instanceOf: SerializationError, message: words });
});

test('a parked call that transfers buffers detaches them when it is made, and they arrive intact when it runs', async (t) => {
  const link = new Link('b', { waitMs: 60_000 });
  const remote = createRemote<{ sum(v: { bytes: Uint8Array; tail: Buffer }): { sum: number; kinds: string[] } }>(link);
  const backing = new ArrayBuffer(16);
  const bytes = new Uint8Array(backing, 4, 8).fill(3);
  const tail = Buffer.from(backing, 12, 4).fill(1);
  const result = remote.sum(transfer({ bytes, tail }, [backing]));
  t.is(backing.byteLength, 0, 'detached at once, though the call waits for a channel');
  const [a, b] = createMemoryTransportPair();
  const server = new Endpoint(new Channel(b), {
    api: {
      sum: (v: { bytes: Uint8Array; tail: Buffer }) => ({
        sum: [...v.bytes, ...v.tail].reduce((x, y) => x + y, 0),
        kinds: [v.bytes.constructor.name, v.tail.constructor.name, `${v.bytes.byteOffset}+${v.bytes.length}`],
      }),
    },
  });
  const client = new Endpoint(new Channel(a), { peerName: 'b' });
  t.teardown(() => {
    client.destroy(new ClusterClosedError());
    server.destroy(new ClusterClosedError());
  });
  link.bind(client, 0);
  t.deepEqual(await result, { sum: 8 * 3 + 4, kinds: ['Uint8Array', 'Buffer', '4+8'] });
});

// A review's: a call parked until its channel opened (a pair's first call, a restart) kept the caller's
// values and read them when it left: a change made meanwhile crossed with it (an open channel encodes a
// message as it is queued), and a function put in later failed the call only then.
test('a parked call or notify takes its arguments as they are when it is made; one that cannot be sent fails at once', async (t) => {
  const link = new Link('b', { waitMs: 60_000 });
  const seen: number[] = [];
  const argument: Record<string, unknown> = { x: 1, list: [1] };
  const call = link.call('echo', [argument]);
  const logged = link.notify('log', [argument]);
  argument.x = 2;
  (argument.list as number[]).push(2);
  argument.fn = () => {};
  await t.throwsAsync(link.call('echo', [{ fn: () => {} }]), {
    instanceOf: SerializationError,
    message: 'The arguments of `echo` cannot be sent to worker "b": A function cannot be sent',
  });
  link.bind(serve(t, seen as never[]), 0);
  t.deepEqual(await call, { x: 1, list: [1] });
  await logged;
  t.deepEqual(seen, [
    { x: 1, list: [1] },
    { x: 1, list: [1] },
  ] as never[]);
});

test('destroy fails parked and later calls at once; close leaves the current endpoint open', async (t) => {
  const dead = new Link('b', { waitMs: 60_000 });
  const parked = createRemote<Api>(dead).echo(1);
  dead.destroy(new WorkerDiedError({ worker: 'b', reason: 'crash' }));
  await t.throwsAsync(parked, { code: 'ERR_CONVOY_WORKER_DIED' });
  await t.throwsAsync(createRemote<Api>(dead).echo(2), { code: 'ERR_CONVOY_WORKER_DIED' });
  await t.throwsAsync(notify(createRemote<Api>(dead)).log(3), { code: 'ERR_CONVOY_WORKER_DIED' });

  const closing = new Link('c', { waitMs: 60_000 });
  const endpoint = serve(t);
  closing.bind(endpoint, 0);
  const inFlight = createRemote<Api>(closing).echo(4);
  closing.close(new ClusterClosedError());
  await t.throwsAsync(createRemote<Api>(closing).echo(5), { code: 'ERR_CONVOY_CLOSED' });
  t.is(await inFlight, 4);
  t.false(endpoint.closed);
});

test('an endpoint of an older incarnation is refused; a newer one replaces the current', async (t) => {
  const link = new Link('b', { waitMs: 60_000 });
  const first = serve(t);
  link.bind(first, 2);
  const stale = serve(t);
  link.bind(stale, 1);
  t.true(stale.closed);
  t.is(link.endpoint, first);
  const inFlight = createRemote<Api>(link).never();
  const next = serve(t);
  link.bind(next, 3);
  t.is(link.endpoint, next);
  t.is(link.incarnation, 3);
  t.is(await createRemote<Api>(link).echo(9), 9);
  // The replaced endpoint's peer is dead: its calls fail once its transport closes.
  die(first);
  await t.throwsAsync(inFlight, { instanceOf: WorkerDiedError });
});

test('the first parked call asks for a channel, once; a lost channel is named in the next ask; an endpoint to an ended incarnation is refused', async (t) => {
  const asks: number[] = [];
  let answer = deferred<OpenReply>();
  const link = new Link('b', {
    waitMs: 60_000,
    open: (had) => {
      asks.push(had);
      return answer.promise;
    },
  });
  const remote = createRemote<Api>(link);
  const first = remote.echo(1);
  const second = remote.echo(2);
  void notify(remote).log(3);
  t.deepEqual(asks, [0], 'one ask for three parked messages, naming no previous channel');
  answer.resolve({ ok: true });
  const endpoint = serve(t);
  link.bind(endpoint, 0, 7);
  t.deepEqual([await first, await second], [1, 2]);
  // The channel is lost while the peer lives (no word of its exit): the next call asks again, naming pair 7.
  answer = deferred<OpenReply>();
  die(endpoint);
  await endpointClosed(endpoint, 5000);
  const third = remote.echo(4);
  t.deepEqual(asks, [0, 7]);
  answer.resolve({ ok: true });
  // A hand-off for an incarnation that has ended meanwhile is refused; the next one is taken.
  link.peerExited(0, new WorkerDiedError({ worker: 'b', reason: 'crash' }));
  const stale = serve(t);
  link.bind(stale, 0, 8);
  t.true(stale.closed, 'an endpoint to the ended incarnation is closed, not bound');
  link.bind(serve(t), 1, 9);
  t.is(await third, 4);
});

// A review's (NATS fuzz): the peer's incarnation ended while the requester was binding its end of the new
// channel, so that end was refused; the ask was answered yes all the same, and the parked calls waited out
// waitMs (20 s) and failed, though the peer's next incarnation was ready within 130 ms.
for (const order of ['refused, then answered', 'answered, then refused'] as const) {
  test(`a channel refused because its incarnation ended is asked for again while calls wait (${order})`, async (t) => {
    const asks: number[] = [];
    const answers = [deferred<OpenReply>(), deferred<OpenReply>()];
    const link = new Link('b', {
      waitMs: 60_000,
      open: (had) => {
        asks.push(had);
        return answers[asks.length - 1]!.promise;
      },
    });
    const remote = createRemote<Api>(link);
    const first = remote.echo(1);
    const second = remote.echo(2);
    t.deepEqual(asks, [0]);
    if (order === 'answered, then refused') {
      answers[0]!.resolve({ ok: true });
      await Promise.resolve();
    }
    link.peerExited(0, new WorkerDiedError({ worker: 'b', reason: 'exit', exitCode: 0 }));
    const stale = serve(t);
    link.bind(stale, 0, 5);
    t.true(stale.closed, 'the end to the ended incarnation is refused');
    if (order === 'refused, then answered') {
      t.deepEqual(asks, [0], 'not asked twice at once');
      answers[0]!.resolve({ ok: true });
    }
    await nextTurn();
    t.deepEqual(asks, [0, 5], 'asked again, naming the refused channel');
    answers[1]!.resolve({ ok: true });
    link.bind(serve(t), 1, 6);
    t.deepEqual([await first, await second], [1, 2]);
  });
}

test('a refused channel with no call waiting asks for nothing', async (t) => {
  const asks: number[] = [];
  const link = new Link('b', {
    waitMs: 60_000,
    open: async (had) => {
      asks.push(had);
      return { ok: true };
    },
  });
  link.peerExited(0, new WorkerDiedError({ worker: 'b', reason: 'exit', exitCode: 0 }));
  const stale = serve(t);
  link.bind(stale, 0, 5);
  t.true(stale.closed);
  await nextTurn();
  t.deepEqual(asks, []);
  // The next call names the refused channel in its ask.
  const call = createRemote<Api>(link).echo(3);
  t.deepEqual(asks, [5]);
  link.bind(serve(t), 1, 6);
  t.is(await call, 3);
});

test('parked calls do not expire while their ask for a channel is under way; after a yes, each waits waitMs for the channel', async (t) => {
  const waitMs = 100;
  let answer = deferred<OpenReply>();
  const link = new Link('b', { waitMs, open: () => answer.promise });
  const remote = createRemote<Api>(link);
  const first = settle(remote.echo(1));
  // Far past waitMs, with the ask unanswered (a busy peer): the call still waits.
  await new Promise((resolve) => setTimeout(resolve, 4 * waitMs));
  t.is(await Promise.race([first.then(() => 'settled'), Promise.resolve('pending')]), 'pending', 'still waiting for the answer');
  answer.resolve({ ok: true });
  const endpoint = serve(t);
  link.bind(endpoint, 0, 1);
  t.like(await first, { ok: true });

  // Lost, asked again, answered yes, and the channel never comes: the wait counts from the answer.
  answer = deferred<OpenReply>();
  die(endpoint);
  await endpointClosed(endpoint, 5000);
  const second = settle(remote.echo(2));
  await new Promise((resolve) => setTimeout(resolve, 2 * waitMs));
  const answeredAt = performance.now();
  answer.resolve({ ok: true });
  const late = await second;
  t.false(late.ok, 'no channel came');
  t.true(late.at - answeredAt >= waitMs - 5, `waited ${(late.at - answeredAt).toFixed(0)} ms after the answer`);
  t.like(late.ok ? {} : late.error, { code: 'ERR_CONVOY_WORKER_DIED', reason: 'disconnected', mayHaveRun: false });
});

test('an ask answered with a final exit fails the parked calls with that death, and every later call at once', async (t) => {
  const link = new Link('b', {
    waitMs: 60_000,
    open: async () => ({ ok: false, exit: { name: 'b', incarnation: 0, reason: 'exit', exitCode: 3, restarting: false } }),
  });
  const remote = createRemote<Api>(link);
  const parked = await t.throwsAsync(remote.echo(1), { instanceOf: WorkerDiedError });
  t.like(parked, { reason: 'exit', exitCode: 3, mayHaveRun: false });
  const later = await t.throwsAsync(remote.echo(2), { instanceOf: WorkerDiedError });
  t.like(later, { reason: 'exit', mayHaveRun: false });
  t.is(link.state, 'dead');
});

// A review's: a peer restarting for longer than the ask's wait (its restartDelayMs past startTimeoutMs) was
// reported as cut off (`disconnected`), where the coordinator's own calls name its death.
test('an ask not answered in time while the peer waits to restart fails the calls with its death, not as cut off', async (t) => {
  const link = new Link('b', { waitMs: 60_000, open: async () => ({ ok: false }) });
  const died = new WorkerDiedError({ worker: 'b', reason: 'exit', exitCode: 3 });
  link.peerExited(0, died, true);
  const parked = await t.throwsAsync(createRemote<Api>(link).echo(1), { instanceOf: WorkerDiedError });
  t.like(parked, { reason: 'exit', exitCode: 3, mayHaveRun: false });
  // Once a later incarnation was bound, a refused ask is no longer that death.
  const endpoint = serve(t);
  link.bind(endpoint, 1);
  die(endpoint);
  await endpointClosed(endpoint, 5000);
  const cut = await t.throwsAsync(createRemote<Api>(link).echo(2), { instanceOf: WorkerDiedError });
  t.like(cut, { reason: 'disconnected', mayHaveRun: false });
});

test('an ask refused with a reason (both alive, every try failed) names it in the cause of the calls it fails', async (t) => {
  const link = new Link('b', {
    waitMs: 60_000,
    open: async () => ({ ok: false, reason: 'a could not open its end: connect EMFILE 127.0.0.1:4000' }),
  });
  const parked = await t.throwsAsync(createRemote<Api>(link).echo(1), { instanceOf: WorkerDiedError });
  t.like(parked, { reason: 'disconnected', mayHaveRun: false });
  t.is(
    (parked?.cause as Error | undefined)?.message,
    'No channel could be opened: a could not open its end: connect EMFILE 127.0.0.1:4000',
  );
  t.true(parked?.message.includes('EMFILE'), parked?.message);
});

test('an ask answered with a final crash names the uncaught error, rebuilt as a RemoteError, in the calls it fails', async (t) => {
  const error = { name: 'RangeError', message: 'balance went negative', stack: 'RangeError: balance went negative' };
  const link = new Link('b', {
    waitMs: 60_000,
    open: async () => ({ ok: false, exit: { name: 'b', incarnation: 0, reason: 'crash', exitCode: 1, error, restarting: false } }),
  });
  const parked = await t.throwsAsync(createRemote<Api>(link).echo(1), { instanceOf: WorkerDiedError });
  t.like(parked, { reason: 'crash', exitCode: 1 });
  t.true(parked?.message.includes('uncaught RangeError: balance went negative'), parked?.message);
  t.true(parked?.cause instanceof RemoteError, String(parked?.cause));
  t.like(parked?.cause, { remoteName: 'RangeError', message: 'balance went negative' });
});

test('word that an incarnation exited moves later calls to the next one; calls already sent still get replies that were on their way, and fail with the word once the transport closes', async (t) => {
  const link = new Link('b', { waitMs: 5000 });
  const remote = createRemote<Api>(link);
  const first = serve(t);
  link.bind(first, 0);
  t.is(await remote.echo(1), 1);
  // The word comes before the old endpoint saw any close (as when the coordinator's word beats the
  // socket's end): what the peer answered before it died still arrives.
  const answered = remote.echo(2);
  const unanswered = remote.never();
  link.peerExited(0, new WorkerDiedError({ worker: 'b', reason: 'crash', signal: 'SIGKILL' }));
  t.is(link.state, 'down');
  t.false(first.closed, 'the old endpoint stays open for what is on its way');
  t.is(await answered, 2, 'a reply sent before the death resolves');
  die(first);
  const error = await t.throwsAsync(unanswered, { instanceOf: WorkerDiedError });
  t.like(error, { reason: 'crash', signal: 'SIGKILL' });
  const later = remote.echo(3);
  link.bind(serve(t), 1);
  t.is(await later, 3, 'a call made after the word landed on the next incarnation');
  // Word about an older incarnation than the bound one changes nothing.
  link.peerExited(0, new WorkerDiedError({ worker: 'b', reason: 'crash' }));
  t.is(link.state, 'open');
  t.is(await remote.echo(4), 4);
});

/** A client endpoint whose close with no word of why waits for the link's word of incarnation 0's death, as a worker's peer endpoints do. */
function serveExplained(t: { teardown(fn: () => void): void }, link: Link): Endpoint {
  const [a, b] = createMemoryTransportPair();
  const server = new Endpoint(new Channel(b), { api: { never: () => new Promise(() => {}) } });
  const client = new Endpoint(new Channel(a), { peerName: 'b', explainClose: (error) => link.explainClose(error, 0) });
  t.teardown(() => {
    client.destroy(new ClusterClosedError());
    server.destroy(new ClusterClosedError());
  });
  return client;
}

const cutOff = () => new WorkerDiedError({ worker: 'b', reason: 'disconnected' });

// Before, a peer SIGKILLed from outside convoy failed a worker's calls to it as `disconnected` (14 of 14 in
// a review), while the coordinator's said crash/SIGKILL: the peer's channel closed before the coordinator's word.
test('calls cut off by a close with no word of why fail with the death the word then brings', async (t) => {
  const link = new Link('b', { waitMs: 5000 });
  const client = serveExplained(t, link);
  link.bind(client, 0);
  const pending = settle(createRemote<Api>(link).never());
  client.channel.destroy(cutOff());
  const raced = await Promise.race([pending, new Promise((resolve) => setImmediate(resolve, 'waiting'))]);
  t.is(raced, 'waiting', 'the call waits for the word');
  link.peerExited(0, new WorkerDiedError({ worker: 'b', reason: 'crash', signal: 'SIGKILL' }));
  const outcome = await pending;
  t.false(outcome.ok);
  if (!outcome.ok) t.like(outcome.error, { reason: 'crash', signal: 'SIGKILL', mayHaveRun: true });
  // A call made on the closed endpoint afterwards carries the death too.
  t.like(await t.throwsAsync(client.call('never', [])), { reason: 'crash', signal: 'SIGKILL', mayHaveRun: false });
});

test('with no word, they fail as cut off after the wait; a link that dies meanwhile fails them at once', async (t) => {
  const link = new Link('b', { waitMs: 5000 });
  const client = serveExplained(t, link);
  link.bind(client, 0);
  const started = performance.now();
  const pending = createRemote<Api>(link).never();
  client.channel.destroy(cutOff());
  t.like(await t.throwsAsync(pending), { reason: 'disconnected' });
  const waited = performance.now() - started;
  t.true(waited >= 950 && waited < 3000, `waited ${waited.toFixed(0)} ms for a word that never came`);

  const closing = new Link('b', { waitMs: 5000 });
  const other = serveExplained(t, closing);
  closing.bind(other, 0);
  const cut = settle(createRemote<Api>(closing).never());
  other.channel.destroy(cutOff());
  const closedAt = performance.now();
  closing.close(new ClusterClosedError());
  const outcome = await cut;
  t.false(outcome.ok);
  if (!outcome.ok) t.like(outcome.error, { reason: 'disconnected' });
  t.true(outcome.at - closedAt < 100, `failed ${(outcome.at - closedAt).toFixed(0)} ms after the link closed`);
});

test('a close for another reason, or after the word, is not held', async (t) => {
  const link = new Link('b', { waitMs: 5000 });
  t.is(link.explainClose(new ClusterClosedError(), 0), undefined);
  t.is(link.explainClose(new WorkerDiedError({ worker: 'b', reason: 'exit', exitCode: 3 }), 0), undefined);
  const died = new WorkerDiedError({ worker: 'b', reason: 'crash', signal: 'SIGKILL' });
  link.peerExited(0, died);
  t.is(await link.explainClose(cutOff(), 0), died, 'the word of its death, known already');
  // An incarnation that ended before the one the word was about: its own death is not known.
  link.peerExited(2, died);
  t.is(link.explainClose(cutOff(), 1), undefined);
});
