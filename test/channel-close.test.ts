/**
 * A transport that dies mid-flight (docs/semantics.md §5, at channel level): every call still waiting —
 * in the wait queue, queued for the next batch, or sent — rejects exactly once; later calls reject at
 * once; replies that arrived before the close still resolve; nothing hangs.
 */
import test from 'ava';
import { Channel } from '../src/channel/channel.js';
import { ClusterClosedError } from '../src/errors.js';
import { Kind } from '../src/protocol/messages.js';
import { Endpoint } from '../src/rpc/endpoint.js';
import { TcpTransport } from '../src/transport/tcp.js';
import { Counter, countdown, deferred, nextTurn, outcome, withDeadline, type Outcome } from './helpers/deadline.js';
import { TRANSPORT_KINDS, connectSockets, createPair, createTransportPair, endpointClosed } from './helpers/pairs.js';
import { failOnLeaks } from './helpers/leaks.js';

failOnLeaks(test);

const CALLS = 1000;

/** Settles with 'settled' if `promise` settles before the next macrotask, 'pending' otherwise. */
function settlesAtOnce(promise: Promise<unknown>): Promise<'settled' | 'pending'> {
  return Promise.race([
    promise.then(
      () => 'settled' as const,
      () => 'settled' as const,
    ),
    nextTurn().then(() => 'pending' as const),
  ]);
}

for (const kind of TRANSPORT_KINDS) {
  for (const side of ['caller', 'callee'] as const) {
    test(`${kind}: destroying the ${side}'s transport with ${CALLS} calls queued and sent rejects each exactly once`, async (t) => {
      const startedCount = new Map<number, number>();
      const someStarted = countdown(200);
      const api = {
        fast: (i: number) => i,
        hang(i: number, _payload: string) {
          startedCount.set(i, (startedCount.get(i) ?? 0) + 1);
          someStarted.tick();
          return new Promise(() => {});
        },
      };
      // A small window, so part of the calls wait for room, part are queued, part are sent.
      const pair = await createPair(t, kind, { channel: { maxQueuedBytes: 8192 }, b: { api } });
      const { a } = pair;

      // Replies that arrive before the close resolve normally.
      const early = await Promise.all(Array.from({ length: 10 }, (_, i) => a.call('fast', [i])));
      t.deepEqual(
        early,
        Array.from({ length: 10 }, (_, i) => i),
      );

      let settlements = 0;
      const results: Promise<Outcome<unknown>>[] = [];
      const issue = (from: number, to: number): void => {
        for (let i = from; i < to; i++) {
          results.push(
            outcome(a.call('hang', [i, 'x'.repeat(100)])).then((r) => {
              settlements++;
              return r;
            }),
          );
        }
      };
      issue(0, CALLS / 2);
      await withDeadline(someStarted.done, 5000, '200 calls started on the callee');
      issue(CALLS / 2, CALLS);
      t.true(a.channel.waiting > 0, 'some calls wait for room');

      const cut = new Error('cable cut');
      (side === 'caller' ? pair.transportA : pair.transportB).destroy(cut);

      const outcomes = await withDeadline(Promise.all(results), 5000, 'every call settles');
      t.is(outcomes.length, CALLS);
      t.true(
        outcomes.every((r) => !r.ok),
        'no call resolved',
      );
      const errors = outcomes.map((r) => (r.ok ? undefined : r.error));
      t.true(errors.every((e) => e instanceof Error));
      if (side === 'caller')
        t.true(
          errors.every((e) => e === cut),
          'the caller sees the error it was destroyed with',
        );
      // Give any stray second settlement a chance to show up: there must be none.
      await nextTurn();
      t.is(settlements, CALLS);
      t.is(a.pendingCalls, 0);
      t.true(a.closed);
      // No call ran twice on the callee.
      t.true([...startedCount.values()].every((n) => n === 1));

      // Later calls and notifies reject at once, not after a timeout.
      const later = a.call('fast', [1]);
      const laterNotify = a.notify('fast', [1]);
      t.is(await settlesAtOnce(later), 'settled');
      t.is(await settlesAtOnce(laterNotify), 'settled');
      await t.throwsAsync(later);
      await t.throwsAsync(laterNotify);
      if (side === 'caller') await t.throwsAsync(later, { is: cut });
    });
  }

  test(`${kind}: a graceful channel close is reported as a clean close even while the peer keeps sending`, async (t) => {
    const [ta, tb] = await createTransportPair(t, kind);
    const a = new Channel(ta);
    const b = new Channel(tb);
    const closedA = deferred<Error>();
    const received = new Counter();
    a.start({
      message() {},
      notifies: (_, from, to) => received.add(to - from),
      close: (error) => closedA.resolve(error),
    });
    b.start({ message() {}, notifies() {}, close() {} });
    // The peer sends until it learns of the close; acks for what still arrives must not break the close.
    const load = setInterval(() => {
      if (!b.closed) for (let i = 0; i < 10; i++) b.send([Kind.Notify, 'n', [i]], false);
    }, 1);
    t.teardown(() => clearInterval(load));
    await received.reach(50, 5000, 'traffic flowing');
    a.close();
    const error = await withDeadline(closedA.promise, 5000, 'close reported');
    t.true(error instanceof ClusterClosedError, `closed with ${String(error)}`);
  });

  test(`${kind}: a graceful endpoint close rejects pending calls with its error; waiting notifies reject too`, async (t) => {
    const hung = deferred();
    const api = {
      hang: () => hung.promise,
      note() {},
    };
    const { a, b } = await createPair(t, kind, { channel: { maxQueuedBytes: 1024 }, b: { api } });
    const pending = a.call('hang', []);
    const notifies = Array.from({ length: 100 }, () => outcome(a.notify('note', ['y'.repeat(100)])));
    t.true(a.channel.waiting > 0);
    const reason = new ClusterClosedError('shutting down');
    a.close(reason);
    await t.throwsAsync(withDeadline(pending, 5000, 'pending call'), { is: reason });
    const settled = await withDeadline(Promise.all(notifies), 5000, 'notifies');
    const rejected = settled.filter((r) => !r.ok);
    t.true(rejected.length > 0);
    t.true(rejected.every((r) => !r.ok && r.error instanceof ClusterClosedError));
    // The peer learns of the close and fails its own side.
    const peerError = await endpointClosed(b);
    t.true(peerError instanceof Error);
    hung.resolve();
  });

  test(`${kind}: closing the callee's endpoint fails the caller's calls; the callee's replies to finished calls still arrived`, async (t) => {
    const release = deferred();
    const api = {
      quick: (n: number) => n * 2,
      slow: () => release.promise,
    };
    const { a, b } = await createPair(t, kind, { b: { api } });
    const quick = a.call('quick', [21]);
    const slow = a.call('slow', []);
    t.is(await withDeadline(quick, 5000, 'quick'), 42);
    b.destroy(new Error('callee gone'));
    const error = await t.throwsAsync(withDeadline(slow, 5000, 'slow call after callee close'));
    t.true(error instanceof Error);
    release.resolve();
  });
}

test('tcp: a graceful close still sends every message accepted while the socket was full', async (t) => {
  const { client, server } = await connectSockets(t);
  const handled = new Counter();
  const a = new Endpoint(new Channel(new TcpTransport(client, { maxFrameBytes: 1 << 26 })));
  const b = new Endpoint(new Channel(new TcpTransport(server, { maxFrameBytes: 1 << 26 })), { api: { note: () => handled.add() } });
  t.teardown(() => {
    a.destroy(new Error('teardown'));
    b.destroy(new Error('teardown'));
  });
  // The receiver stops reading, so the socket fills and the channel holds frames back (queuedBytes > 0).
  server.pause();
  let accepted = 0;
  for (let i = 0; i < 200 && a.channel.queuedBytes === 0; i++) {
    await a.notify('note', ['z'.repeat(128 * 1024)]);
    accepted++;
    await nextTurn();
  }
  t.true(a.channel.queuedBytes > 0, 'the transport asked the channel to wait');
  for (let i = 0; i < 10; i++) {
    await a.notify('note', ['small']);
    accepted++;
  }
  const closed = endpointClosed(b, 10_000);
  a.close(new ClusterClosedError('done'));
  server.resume();
  await handled.reach(accepted, 10_000, 'every accepted notify handled');
  t.is(handled.count, accepted);
  await closed;
});

/** Enough bytes of notifies that the closing side is still sending them when a reply comes back (found by channel-endings). */
const BIG_NOTIFIES = 32;
const BIG_NOTIFY_BYTES = 128 * 1024;

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: a reply that reaches a closing endpoint after close() failed its call is dropped, and everything accepted before the close still arrives`, async (t) => {
    const handled = new Counter();
    const release = deferred();
    const api = {
      // Answers once the first notify after it has started: by then the caller has closed.
      answerLater: () => release.promise.then(() => 'late'),
      note() {
        release.resolve();
        handled.add();
      },
    };
    const roomy = { maxQueuedBytes: 64 << 20, maxFrameBytes: 64 << 20 };
    const { a, b } = await createPair(t, kind, { channel: roomy, b: { api } });
    const call = outcome(a.call('answerLater', []));
    for (let i = 0; i < BIG_NOTIFIES; i++) await a.notify('note', ['n'.repeat(BIG_NOTIFY_BYTES)]);
    const peerClosed = endpointClosed(b, 10_000);
    const reason = new ClusterClosedError('a is done');
    a.close(reason);
    const result = await withDeadline(call, 5000, 'the call fails with the close');
    t.true(!result.ok && result.error === reason);
    await handled.reach(BIG_NOTIFIES, 10_000, 'every notify accepted before the close handled');
    const peerError = await peerClosed;
    t.true(peerError instanceof ClusterClosedError, `b saw the close as ${String(peerError)}`);
  });
}
