/**
 * A responder whose handlers come later (`awaitApi`: a worker's peer channel bound while its factory
 * runs): what the peer sends meanwhile waits for the handlers, in order, and is served once they exist;
 * a responder with no handlers and no such promise still answers ERR_CONVOY_NO_METHOD at once.
 */
import test from 'ava';
import { MethodNotFoundError } from '../src/errors.js';
import { createRemote, notify } from '../src/rpc/remote.js';
import { outcome, withDeadline } from './helpers/deadline.js';
import { failOnLeaks } from './helpers/leaks.js';
import { createPair } from './helpers/pairs.js';

failOnLeaks(test);

const EVENT_MS = 5000;

/** Resolves once `b` has received `count` messages from its peer (they are waiting for its handlers). */
async function received(endpoint: { channel: { stats: { messagesReceived: number } } }, count: number): Promise<void> {
  const deadline = Date.now() + EVENT_MS;
  while (endpoint.channel.stats.messagesReceived < count) {
    if (Date.now() > deadline) throw new Error(`only ${endpoint.channel.stats.messagesReceived} of ${count} messages arrived`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

for (const kind of ['memory', 'port', 'tcp'] as const) {
  test(`${kind}: calls and notifies sent before the handlers exist wait for them and are served in order`, async (t) => {
    const { a, b } = await createPair(t, kind, { b: { awaitApi: true } });
    const seen: string[] = [];
    const remote = createRemote<{ add(x: number): number }>(a);
    const settled: string[] = [];
    const track = (name: string, call: Promise<number>): Promise<number> =>
      call.then((value) => {
        settled.push(name);
        return value;
      });
    const first = track('first', remote.add(1));
    void notify(remote).add(2);
    const second = track('second', remote.add(3));
    await received(b, 3);
    t.deepEqual(settled, [], 'nothing is answered before the handlers exist');
    t.is(b.pendingCalls, 0);

    b.serve({
      add(x: number) {
        seen.push(`add ${x}`);
        return x * 10;
      },
    });
    t.deepEqual(await withDeadline(Promise.all([first, second]), EVENT_MS, 'answers'), [10, 30]);
    t.deepEqual(seen, ['add 1', 'add 2', 'add 3']);
    // Later messages go straight to the handlers.
    t.is(await withDeadline(remote.add(4), EVENT_MS, 'a later call'), 40);
  });
}

test('a call waiting for the handlers fails with the close error when the channel closes first', async (t) => {
  const { a, b } = await createPair(t, 'port', { b: { awaitApi: true } });
  const call = outcome(createRemote<{ add(x: number): number }>(a).add(1));
  await received(b, 1);
  b.destroy(new Error('gone before it loaded'));
  const result = await withDeadline(call, EVENT_MS, 'the call fails');
  t.false(result.ok);
  // Serving after the close runs nothing.
  let ran = false;
  b.serve({ add: () => (ran = true) });
  t.false(ran);
});

test('without awaitApi, a responder with no handlers answers ERR_CONVOY_NO_METHOD at once', async (t) => {
  const { a } = await createPair(t, 'port');
  const error = await withDeadline(
    createRemote<{ add(x: number): number }>(a)
      .add(1)
      .catch((e: unknown) => e),
    EVENT_MS,
    'the fault',
  );
  t.true(error instanceof MethodNotFoundError);
  t.is((error as MethodNotFoundError).code, 'ERR_CONVOY_NO_METHOD');
});
