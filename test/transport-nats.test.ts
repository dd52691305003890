/**
 * What the NATS transport adds to the transport contract, against real nats-servers: frames larger than
 * the server's max_payload cross in pieces, intact; a gap or a repeat in the numbering breaks the pair
 * (its calls fail with WorkerDiedError 'disconnected'), never a silent loss; two clusters on one server
 * never see each other; losing the server fails the pairs at once, and they open again once it is back;
 * across a 2-server cluster each pair keeps its order, and losing one server fails only the pairs that
 * went through it.
 */
import { createHash, randomFillSync } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import { Channel } from '../src/channel/channel.js';
import { ProtocolError, WorkerDiedError } from '../src/errors.js';
import { transfer } from '../src/protocol/transfer.js';
import { Endpoint, type EndpointConfig } from '../src/rpc/endpoint.js';
import { closedChannelError } from '../src/rpc/link.js';
import { connectNats } from '../src/transport/nats-connect.js';
import type { NatsHub } from '../src/transport/nats-hub.js';
import { WireKind, encodeWire, sign, subjectKey } from '../src/transport/nats-wire.js';
import { frameBytes } from './helpers/pairs.js';
import type { NatsTransport } from '../src/transport/nats.js';
import { Counter, deferred, outcome, withDeadline } from './helpers/deadline.js';
import { failOnLeaks } from './helpers/leaks.js';
import { TEST_SECRET, connectHub } from './helpers/nats-hub.js';
import { startNatsCluster, startNatsServer } from './helpers/nats-server.js';

failOnLeaks(test);

const MB = 1 << 20;
const DEADLINE_MS = 10_000;

/** Both sides of the pair `a`↔`b`, bound and open. */
async function openPair(hubA: NatsHub, hubB: NatsHub, a = 'a', b = 'b', maxFrameBytes = 64 * MB): Promise<[NatsTransport, NatsTransport]> {
  const pair: [NatsTransport, NatsTransport] = [hubA.open(a, b, { maxFrameBytes }), hubB.open(b, a, { maxFrameBytes })];
  await withDeadline(Promise.all(pair.map((transport) => transport.opened)), DEADLINE_MS, `pair ${a}↔${b} open`);
  return pair;
}

/** An endpoint over `transport` whose calls fail as a worker's calls to a peer do when the pair breaks. */
function endpointOver(
  t: ExecutionContext,
  transport: NatsTransport,
  peer: string,
  config: EndpointConfig = {},
  maxFrameBytes?: number,
): Endpoint {
  const channel = new Channel(transport, {
    ...(maxFrameBytes ? { maxFrameBytes } : {}),
    closeError: (cause) => closedChannelError(peer, undefined, 'disconnected', cause),
  });
  const endpoint = new Endpoint(channel, { peerName: peer, ...config });
  t.teardown(() => endpoint.destroy(new Error('test teardown')));
  return endpoint;
}

/** A call's error names its method; the channel's close error keeps the transport's failure as its cause. */
function expectDisconnected(t: ExecutionContext, error: unknown, { caused = false } = {}): void {
  t.true(error instanceof WorkerDiedError, String(error));
  t.is((error as WorkerDiedError).reason, 'disconnected');
  if (caused) t.true((error as WorkerDiedError).cause instanceof ProtocolError, String((error as WorkerDiedError).cause));
}

const echo = { echo: (value: unknown) => value };

/** A server and the pair a↔b over it: a's endpoint calling, b's serving `api` (b's hub too, for its counts). */
async function servedPair(t: ExecutionContext, api: object) {
  const server = await startNatsServer(t);
  const [hubA, hubB] = await Promise.all([connectHub(t, server.url), connectHub(t, server.url)]);
  const [ta, tb] = await openPair(hubA, hubB);
  const a = endpointOver(t, ta, 'b');
  const b = endpointOver(t, tb, 'a', { api });
  return { server, hubB, ta, tb, a, b };
}

/** A connection of someone else on `server`'s NATS (a forger, a spy), closed when the test ends. */
async function outsider(t: ExecutionContext, server: { url: string }, name: string) {
  const connection = await connectNats({ servers: server.url }, name);
  t.teardown(() => connection.close());
  return connection;
}

/** `message` (from encodeWire) signed for `subject` with the tests' cluster secret: as a holder of it sends. */
function signedFor(subject: string, message: Uint8Array): Uint8Array {
  sign(subjectKey(TEST_SECRET, subject), message);
  return message;
}

/** A handler that counts its starts and never settles: calls to it stay in flight. */
function holding(started: Counter) {
  return () => {
    started.add();
    return new Promise(() => {});
  };
}

test('a side that binds late gets every frame the other queued before it was there', async (t) => {
  const server = await startNatsServer(t);
  const [hubA, hubB] = await Promise.all([connectHub(t, server.url), connectHub(t, server.url)]);
  const a = hubA.open('a', 'b', { maxFrameBytes: MB });
  a.start({ frame() {}, close() {}, drain() {} });
  for (let i = 0; i < 10; i++) a.send(new Uint8Array([i]));
  // a's first open reached the server and was dropped: nobody listened yet.
  await hubA.connection.flush();
  const b = hubB.open('b', 'a', { maxFrameBytes: MB });
  const frames: number[] = [];
  const all = deferred();
  b.start({
    frame: (data) => frames.push(frameBytes(data)[0]!) === 10 && all.resolve(),
    close() {},
    drain() {},
  });
  await withDeadline(all.promise, DEADLINE_MS, 'ten frames');
  t.deepEqual(frames, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('openTimeoutMs bounds the wait for the other side with a ProtocolError naming it; 0 waits as long as it takes', async (t) => {
  const server = await startNatsServer(t);
  const [hubA, hubB] = await Promise.all([connectHub(t, server.url), connectHub(t, server.url)]);
  const bounded = hubA.open('a', 'b', { maxFrameBytes: MB, openTimeoutMs: 300 });
  const ended = deferred<Error | undefined>();
  bounded.start({ frame() {}, close: (error) => ended.resolve(error), drain() {} });
  const patient = hubA.open('c', 'd', { maxFrameBytes: MB, openTimeoutMs: 0 });
  let over = false;
  patient.start({ frame() {}, close: () => over || t.fail('the patient side ended'), drain() {} });
  patient.send(new Uint8Array([7]));
  const error = await withDeadline(ended.promise, DEADLINE_MS, 'the bounded side gives up');
  t.true(error instanceof ProtocolError && /"b" did not bind its side within 300 ms/.test(error.message), String(error));
  t.false(await bounded.opened);
  // Later than the bound above: the side with none still waits, and gets what was sent meanwhile.
  const late = hubB.open('d', 'c', { maxFrameBytes: MB });
  const frame = deferred<number>();
  late.start({ frame: (data) => frame.resolve(frameBytes(data)[0]!), close() {}, drain() {} });
  t.true(await withDeadline(patient.opened, DEADLINE_MS, 'the patient side opens'));
  t.is(await withDeadline(frame.promise, DEADLINE_MS, 'the frame sent before'), 7);
  over = true;
});

test('past maxPendingBytes unsent on the connection, send returns false and drain follows once it has room', async (t) => {
  const server = await startNatsServer(t);
  const [hubA, hubB] = await Promise.all([connectHub(t, server.url, { maxPendingBytes: 256 * 1024 }), connectHub(t, server.url)]);
  const [ta, tb] = await openPair(hubA, hubB);
  const drained = deferred();
  ta.start({ frame() {}, close() {}, drain: drained.resolve });
  const arrived = deferred<Uint8Array>();
  tb.start({ frame: arrived.resolve, close() {}, drain() {} });
  // A stopped server reads nothing: once the kernel's buffers are full, the bytes stay in the client.
  server.signal('SIGSTOP');
  t.teardown(() => server.signal('SIGCONT'));
  const frame = randomFillSync(new Uint8Array(48 * MB));
  const expected = createHash('sha256').update(frame).digest('hex');
  t.false(ta.send(frame), 'the frame waits for room');
  server.signal('SIGCONT');
  await withDeadline(drained.promise, 30_000, 'drain');
  const received = await withDeadline(arrived.promise, 30_000, 'the frame');
  t.is(createHash('sha256').update(received).digest('hex'), expected);
  t.true(ta.send(new Uint8Array(10)), 'room again');
});

test('a 100 MB transfer()ed argument crosses a 1 MB max_payload server in pieces, SHA-256 intact', async (t) => {
  const server = await startNatsServer(t, { maxPayloadBytes: MB });
  const [hubA, hubB] = await Promise.all([connectHub(t, server.url), connectHub(t, server.url)]);
  t.is(hubA.maxPayloadBytes, MB);
  const maxFrameBytes = 128 * MB;
  const [ta, tb] = await openPair(hubA, hubB, 'a', 'b', maxFrameBytes);
  const api = { digest: (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex') };
  const a = endpointOver(t, ta, 'b', {}, maxFrameBytes);
  endpointOver(t, tb, 'a', { api }, maxFrameBytes);
  const payload = randomFillSync(new Uint8Array(100 * MB));
  const expected = createHash('sha256').update(payload).digest('hex');
  const digest = await withDeadline(a.call('digest', [transfer(payload, [payload.buffer])]), 60_000, '100 MB call');
  t.is(digest, expected);
  t.is(payload.byteLength, 0, 'the sender gave its buffer up');
  t.true(ta.numbered.sent > 100, `${ta.numbered.sent} messages: the frame went in pieces`);
  // The pair goes on after it.
  t.is(await a.call('digest', [new Uint8Array(3)]), createHash('sha256').update(new Uint8Array(3)).digest('hex'));
});

test('a frame larger than the receiver’s maxFrameBytes breaks the pair at its first piece', async (t) => {
  const server = await startNatsServer(t, { maxPayloadBytes: 64 * 1024 });
  const [hubA, hubB] = await Promise.all([connectHub(t, server.url), connectHub(t, server.url)]);
  const [ta, tb] = await openPair(hubA, hubB, 'a', 'b', MB);
  const closed = deferred<Error | undefined>();
  tb.start({ frame: () => t.fail('no frame may arrive'), close: closed.resolve, drain() {} });
  ta.start({ frame() {}, close() {}, drain() {} });
  ta.send(new Uint8Array(2 * MB));
  const error = await withDeadline(closed.promise, DEADLINE_MS, 'b breaks');
  t.true(error instanceof ProtocolError, String(error));
  t.is(tb.numbered.received, 1, 'refused at the first piece');
});

test(`a gap in the numbering breaks the pair: calls in flight fail with WorkerDiedError 'disconnected', caused by ProtocolError`, async (t) => {
  const started = new Counter();
  const { server, ta, tb, a, b } = await servedPair(t, { ...echo, hold: holding(started) });
  t.is(await a.call('echo', [1]), 1);
  const inFlight = outcome(a.call('hold', []));
  await started.reach(1, DEADLINE_MS, 'hold started');
  const bClosed = new Promise<Error>((resolve) => b.onClose(resolve));
  // A message on a's subject with a's stream, numbered out of turn (signed: as NATS itself would lose
  // a message of the peer's).
  const forger = await outsider(t, server, 'forger');
  forger.publish(
    ta.subject,
    signedFor(ta.subject, encodeWire(WireKind.Frame, ta.stream, tb.numbered.received + 5, new Uint8Array([0x92, 0, 0]))),
  );
  await forger.flush();
  const cause = (await withDeadline(bClosed, DEADLINE_MS, 'b breaks')) as WorkerDiedError;
  expectDisconnected(t, cause, { caused: true });
  t.regex((cause.cause as Error).message, /gap/);
  // a hears b's reset, and why: its call in flight fails, and so does the next.
  const result = await withDeadline(inFlight, DEADLINE_MS, 'in-flight call fails');
  t.false(result.ok);
  if (!result.ok) {
    expectDisconnected(t, result.error);
    t.regex(((result.error as Error).cause as Error)?.message, /reset by "[^"]+": NATS transport from "[^"]+": a gap/);
  }
  await t.throwsAsync(a.call('echo', [2]), { instanceOf: WorkerDiedError });
});

test('a message of an earlier stream between the same endpoints is ignored, not taken for this one’s', async (t) => {
  const { server, ta, tb, a } = await servedPair(t, echo);
  const forger = await outsider(t, server, 'forger');
  forger.publish(
    ta.subject,
    signedFor(ta.subject, encodeWire(WireKind.Frame, (ta.stream - 1) >>> 0, tb.numbered.received + 1, new Uint8Array([0x92, 0, 0]))),
  );
  forger.publish(ta.subject, signedFor(ta.subject, encodeWire(WireKind.Reset, (ta.stream - 1) >>> 0)));
  await forger.flush();
  t.is(await a.call('echo', ['still here']), 'still here');
  t.false(tb.closed);
});

test('without the cluster secret nothing published on a pair’s subject is taken: forged frames, resets and opens are dropped', async (t) => {
  const started = new Counter();
  const { server, hubB, ta, tb, a } = await servedPair(t, { ...echo, count: () => started.add() });
  t.is(await a.call('echo', [1]), 1);
  const forger = await outsider(t, server, 'forger');
  const frame = (seq: number) => encodeWire(WireKind.Frame, ta.stream, seq, new Uint8Array([0x92, 0, 0]));
  const forged = [
    frame(tb.numbered.received + 1), // the next number, unsigned
    signedFor(ta.subject, frame(tb.numbered.received + 1)).fill(0, -4), // a tag that does not check
    signedFor(tb.subject, frame(tb.numbered.received + 1)), // signed for the other direction
    encodeWire(WireKind.Reset, ta.stream),
    encodeWire(WireKind.Open, (ta.stream + 1) >>> 0),
    new Uint8Array([1, 2, 3]),
  ];
  for (const message of forged) forger.publish(ta.subject, message);
  await forger.flush();
  // b takes a's next real frame after them: had any been taken, the pair would have broken.
  t.is(await a.call('echo', ['after']), 'after');
  t.is(hubB.forged, forged.length, 'each one dropped');
  t.false(tb.closed);
  t.is(started.count, 0);
});

test('a signed message copied and published again (a replay) is dropped: its call does not run twice, and the pair goes on', async (t) => {
  const started = new Counter();
  const { server, ta, tb, a } = await servedPair(t, { ...echo, count: () => started.add() });
  // Someone on the server reads a's subject and keeps what passes.
  const spy = await outsider(t, server, 'spy');
  const seen: Uint8Array[] = [];
  const sawOne = deferred<void>();
  spy.subscribe(ta.subject, {
    callback: (_, message) => {
      seen.push(message.data.slice());
      sawOne.resolve();
    },
  });
  await spy.flush();
  await a.call('count', []);
  t.is(started.count, 1);
  await withDeadline(sawOne.promise, DEADLINE_MS, 'the spy seeing the call');
  for (const message of seen) spy.publish(ta.subject, message);
  await spy.flush();
  t.is(await a.call('echo', ['after']), 'after');
  t.is(started.count, 1, 'the replayed call did not run again');
  t.true(tb.repeats >= 1, `repeats dropped: ${tb.repeats}`);
  t.false(tb.closed);
});

test('NATS credentials are passed through: user and password open the pair, a wrong password is refused', async (t) => {
  const server = await startNatsServer(t, { user: 'convoy', pass: 'hunter2-hunter2' });
  const [hubA, hubB] = await Promise.all([
    connectHub(t, server.url, { user: 'convoy', pass: 'hunter2-hunter2' }),
    connectHub(t, server.url, { user: 'convoy', pass: 'hunter2-hunter2' }),
  ]);
  const [ta, tb] = await openPair(hubA, hubB);
  const a = endpointOver(t, ta, 'b');
  endpointOver(t, tb, 'a', { api: echo });
  t.is(await a.call('echo', ['in']), 'in');
  // The server refuses it (on a loaded machine the client may give up waiting first: either way, no connection).
  await t.throwsAsync(connectNats({ servers: server.url, user: 'convoy', pass: 'wrong' }, 'intruder'));
});

test('two clusters on one server with the same endpoint names never see each other’s traffic', async (t) => {
  const server = await startNatsServer(t);
  const spy = await connectNats({ servers: server.url }, 'spy');
  t.teardown(() => spy.close());
  const seen: string[] = [];
  spy.subscribe('convoy.blue.>', { callback: (_error, message) => seen.push(message.subject) });
  await spy.flush();
  const endpoints: Record<string, Endpoint> = {};
  for (const cluster of ['blue', 'green']) {
    const [hubA, hubB] = await Promise.all([connectHub(t, server.url, { cluster }), connectHub(t, server.url, { cluster })]);
    const [ta, tb] = await openPair(hubA, hubB);
    endpoints[cluster] = endpointOver(t, ta, 'b');
    endpointOver(t, tb, 'a', { api: { whose: () => cluster } });
  }
  const answers = await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      endpoints[i % 2 ? 'green' : 'blue']!.call('whose', []).then((whose) => [i % 2 ? 'green' : 'blue', whose]),
    ),
  );
  t.true(answers.every(([asked, whose]) => asked === whose));
  await spy.flush();
  t.true(seen.length > 0);
  t.true(
    seen.every((subject) => subject.startsWith('convoy.blue.')),
    seen.find((subject) => !subject.startsWith('convoy.blue.')),
  );
});

test('killing the NATS server fails every call in flight at once; once it is back, the pair opens again', async (t) => {
  const server = await startNatsServer(t);
  const [hubA, hubB] = await Promise.all([connectHub(t, server.url), connectHub(t, server.url)]);
  const [ta, tb] = await openPair(hubA, hubB);
  const started = new Counter();
  const a = endpointOver(t, ta, 'b');
  const b = endpointOver(t, tb, 'a', { api: { hold: holding(started) } });
  const bClosed = new Promise<Error>((resolve) => b.onClose(resolve));
  const inFlight = Array.from({ length: 100 }, () => outcome(a.call('hold', [])));
  await started.reach(100, DEADLINE_MS, 'calls started');
  await server.kill();
  const results = await withDeadline(Promise.all(inFlight), 5000, 'calls fail after the server is killed');
  for (const result of results) if (!result.ok) expectDisconnected(t, result.error);
  t.true(results.every((result) => !result.ok));
  // The other side breaks with its own connection.
  expectDisconnected(t, await withDeadline(bClosed, 5000, 'b breaks'), { caused: true });

  await server.start();
  const [ta2, tb2] = await openPair(hubA, hubB);
  const a2 = endpointOver(t, ta2, 'b');
  endpointOver(t, tb2, 'a', { api: echo });
  t.is(await a2.call('echo', ['back']), 'back');
});

test('a 2-server cluster: 100k mixed calls and notifies between endpoints on different servers start in issue order', async (t) => {
  const [first, second] = await startNatsCluster(t);
  const [hubA, hubB] = await Promise.all([connectHub(t, first.url), connectHub(t, second.url)]);
  const [ta, tb] = await openPair(hubA, hubB);
  const started: number[] = [];
  const a = endpointOver(t, ta, 'b');
  endpointOver(t, tb, 'a', {
    api: {
      call: (seq: number) => {
        started.push(seq);
        return seq;
      },
      note: (seq: number) => void started.push(seq),
    },
  });
  const total = 100_000;
  const calls: Promise<unknown>[] = [];
  for (let seq = 0; seq < total; seq++) {
    if (seq % 5 < 2) void a.notify('note', [seq]);
    else calls.push(a.call('call', [seq]));
  }
  calls.push(a.call('call', [total]));
  await withDeadline(Promise.all(calls), 30_000, `${total} messages across the route`);
  t.is(started.length, total + 1);
  t.is(
    started.findIndex((seq, i) => seq !== i),
    -1,
  );
});

test('a 2-server cluster: losing one server fails only the pairs that went through it', async (t) => {
  const [first, second] = await startNatsCluster(t);
  // a and c on the first server, b on the second (it learns of the first from the cluster, and fails over).
  const [hubA, hubB, hubC] = await Promise.all([connectHub(t, first.url), connectHub(t, second.url), connectHub(t, first.url)]);
  const [tab, tba] = await openPair(hubA, hubB, 'a', 'b');
  const [tac, tca] = await openPair(hubA, hubC, 'a', 'c');
  const toB = endpointOver(t, tab, 'b');
  const toC = endpointOver(t, tac, 'c');
  endpointOver(t, tba, 'a', { api: { hold: () => new Promise(() => {}) } });
  endpointOver(t, tca, 'a', { api: echo });
  const held = outcome(toB.call('hold', []));
  t.is(await toC.call('echo', [1]), 1);
  await second.kill();
  // b's side breaks with its connection; a's side when b, back through the first server, resets it.
  const result = await withDeadline(held, DEADLINE_MS, 'the call through the lost server fails');
  t.false(result.ok);
  if (!result.ok) expectDisconnected(t, result.error);
  t.true(tba.closed);
  t.is(await toC.call('echo', [2]), 2);
  t.false(tac.closed || tca.closed);
});
