/**
 * Stats readings sent as changes (worker/stats-answers.ts, cluster/stats.ts): a worker names a channel
 * that has not moved since the answer the coordinator holds, and the coordinator reuses its snapshot.
 * First the worker's side alone, over real endpoints; then whole readings of a cluster.
 */
import test from 'ava';
import type { ChannelSnapshot } from '../src/rpc/endpoint-stats.js';
import type { Endpoint } from '../src/rpc/endpoint.js';
import { StatsAnswers } from '../src/worker/stats-answers.js';
import type { Counter } from './fixtures/counter.js';
import { eventLog, fixture, startFor, within } from './helpers/cluster.js';
import { createPair } from './helpers/pairs.js';

type Links = Map<string, { endpoint: Endpoint | undefined }>;

/** What an answer says of each channel: its snapshot's calls, or 'same'. */
const shown = (peers: (ChannelSnapshot | string)[]) =>
  peers.map((p) => (typeof p === 'string' ? `${p}: same` : `${p.peer}: ${p.calls} calls`));

test('an answer to the number held names the channels that did not move; one that moved is sent in full', async (t) => {
  const ab = await createPair(t, 'memory', { b: { api: { ping: () => 'pong' } } });
  const ac = await createPair(t, 'memory', { b: { api: { ping: () => 'pong' } } });
  const links: Links = new Map([
    ['b', { endpoint: ab.a }],
    ['c', { endpoint: ac.a }],
    ['d', { endpoint: undefined }],
  ]);
  const answers = new StatsAnswers();
  const first = answers.answer(undefined, links);
  t.is(first.answer, 1);
  t.deepEqual(shown(first.peers), ['b: 0 calls', 'c: 0 calls'], 'a first answer is full; a link with no channel is not listed');
  t.deepEqual(shown(answers.answer(1, links).peers), ['b: same', 'c: same']);
  await ab.a.call('ping', []);
  const third = answers.answer(2, links);
  t.is(third.answer, 3);
  t.deepEqual(shown(third.peers), ['b: 1 calls', 'c: same']);
  t.deepEqual(shown(answers.answer(3, links).peers), ['b: same', 'c: same'], 'the reply was in the answer before');
  // A call in flight moves its channel (inFlight), and its reply moves it again.
  const pending = ac.a.call('ping', []);
  t.deepEqual(shown(answers.answer(4, links).peers), ['b: same', 'c: 1 calls']);
  await pending;
  const settled = answers.answer(5, links).peers;
  t.like(settled[1], { peer: 'c', calls: 1, replies: 1, inFlight: 0 });
});

test('an answer to any other number than the last is full: a lost answer, two readings at once, a first reading', async (t) => {
  const ab = await createPair(t, 'memory');
  const links: Links = new Map([['b', { endpoint: ab.a }]]);
  const answers = new StatsAnswers();
  answers.answer(undefined, links); // 1
  answers.answer(1, links); // 2: lost on its way, say; the coordinator still holds 1
  t.deepEqual(shown(answers.answer(1, links).peers), ['b: 0 calls'], 'the coordinator holds an older answer');
  t.deepEqual(shown(answers.answer(undefined, links).peers), ['b: 0 calls'], 'the coordinator holds none');
  t.deepEqual(shown(answers.answer(99, links).peers), ['b: 0 calls'], 'a number never given');
  t.deepEqual(shown(answers.answer(5, links).peers), ['b: same']);
});

test('a new channel to the same peer is sent in full even when its counters equal the old one', async (t) => {
  const first = await createPair(t, 'memory');
  const second = await createPair(t, 'memory');
  const links: Links = new Map([['b', { endpoint: first.a }]]);
  const answers = new StatsAnswers();
  answers.answer(undefined, links);
  links.set('b', { endpoint: second.a });
  t.deepEqual(shown(answers.answer(1, links).peers), ['b: 0 calls']);
  t.deepEqual(shown(answers.answer(2, links).peers), ['b: same']);
  links.set('b', { endpoint: undefined });
  t.deepEqual(answers.answer(3, links).peers, [], 'a channel that closed is not listed');
});

test('cluster.stats(): an unchanged channel is the same frozen snapshot again; a changed one has the new counters', async (t) => {
  t.timeout(60_000);
  const names = ['t-0', 't-1', 'p-0'];
  const cluster = await startFor(t, {
    workers: names.map((name) => ({
      name,
      module: fixture('counter.ts'),
      kind: name.startsWith('t') ? 'thread' : 'process',
      restart: 'on-failure',
    })),
  });
  const t0 = cluster.worker<Counter>('t-0');
  await within(Promise.all([t0.tryCall('t-1', 'inc', [1]), t0.tryCall('p-0', 'inc', [1])]), 10_000, 'first calls');
  const peersOf = (stats: Awaited<ReturnType<typeof cluster.stats>>, name: string) =>
    new Map(stats.workers.find((w) => w.name === name)!.peers.map((p) => [p.peer, p]));

  const before = peersOf(await cluster.stats(), 't-0');
  const again = peersOf(await cluster.stats(), 't-0');
  t.is(again.get('t-1'), before.get('t-1'), 'an idle channel: the same object');
  t.is(again.get('p-0'), before.get('p-0'));
  t.true(Object.isFrozen(again.get('t-1')) && Object.isFrozen(again.get('t-1')!.latency));
  t.throws(() => {
    (again.get('t-1') as { calls: number }).calls = 0;
  });

  await within(t0.tryCall('p-0', 'inc', [1]), 10_000, 'a call to p-0');
  // Two readings at once: each must be whole and right, whichever answer the worker counts from.
  const [x, y] = (await Promise.all([cluster.stats(), cluster.stats()])).map((s) => peersOf(s, 't-0'));
  for (const reading of [x!, y!]) {
    // The later of the two is answered in full: equal, not the same object.
    t.deepEqual(reading.get('t-1'), before.get('t-1'));
    t.like(reading.get('p-0'), { calls: before.get('p-0')!.calls + 1, replies: before.get('p-0')!.replies + 1 });
  }
  const after = peersOf(await cluster.stats(), 't-0');
  t.like(after.get('p-0'), { calls: before.get('p-0')!.calls + 1 });
  // The callee's side moved too: it served one more.
  const served = (s: Map<string, ChannelSnapshot>) => s.get('t-0')!.served;
  t.is(served(peersOf(await cluster.stats(), 'p-0')), before.get('p-0')!.calls + 1);

  // A restarted worker starts again from a full answer, with its new channels' counters.
  const restarts = eventLog(cluster, 'worker-restart');
  await cluster.kill('t-0');
  await restarts.nth('t-0', 1, 20_000);
  await within(t0.tryCall('t-1', 'inc', [1]), 10_000, 'a call after the restart');
  t.deepEqual(
    [...peersOf(await cluster.stats(), 't-0').values()].map((p) => [p.peer, p.calls]),
    [['t-1', 1]],
  );
});
