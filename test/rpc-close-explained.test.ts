/**
 * A close whose cause is about to be known (a local worker's exit, a few ms after its socket closes):
 * the endpoint's calls, in flight or made meanwhile, wait for that explanation and fail with it.
 */
import test from 'ava';
import { WorkerDiedError } from '../src/index.js';
import { nextTurn, withDeadline } from './helpers/deadline.js';
import { createPair, endpointClosed } from './helpers/pairs.js';

test('calls fail with the explanation of the close once it is known; close listeners hear at once', async (t) => {
  let explain!: (error: Error) => void;
  const explanation = new Promise<Error>((resolve) => (explain = resolve));
  const asked: Error[] = [];
  const { a, b } = await createPair(t, 'memory', {
    a: {
      explainClose: (error) => {
        asked.push(error);
        return explanation;
      },
    },
    b: { api: { hang: () => new Promise(() => {}), echo: (value: unknown) => value } },
  });
  t.is(await a.call('echo', [1]), 1);
  const inFlight = a.call('hang', []).catch((error: unknown) => error);
  await nextTurn();
  const closed = endpointClosed(a);
  b.destroy(new Error('gone'));
  const heard = await closed;
  t.deepEqual(asked, [heard], 'asked to explain the close error, which the listeners heard at once');
  const madeMeanwhile = a.call('echo', [2]).catch((error: unknown) => error);
  const notified = a.notify('echo', [3]).catch((error: unknown) => error);
  let settled = false;
  void Promise.race([inFlight, madeMeanwhile, notified]).then(() => (settled = true));
  await nextTurn();
  t.false(settled, 'nothing fails before the explanation');

  const death = new WorkerDiedError({ worker: 'b', reason: 'crash', signal: 'SIGKILL' });
  explain(death);
  const [first, second, third] = await withDeadline(Promise.all([inFlight, madeMeanwhile, notified]), 5000, 'the calls failing');
  t.like(first, { reason: 'crash', signal: 'SIGKILL', mayHaveRun: true });
  t.like(second, { reason: 'crash', signal: 'SIGKILL', mayHaveRun: false });
  t.like(third, { reason: 'crash', mayHaveRun: false });
  t.like(await a.call('echo', [4]).catch((error: unknown) => error), { reason: 'crash', mayHaveRun: false }, 'and later calls');
});

test('without an explanation (undefined), calls fail at once with the close error', async (t) => {
  const { a, b } = await createPair(t, 'memory', {
    a: { explainClose: () => undefined },
    b: { api: { hang: () => new Promise(() => {}) } },
  });
  const inFlight = a.call('hang', []).catch((error: unknown) => error);
  await nextTurn();
  const closed = endpointClosed(a);
  b.destroy(new Error('gone'));
  const heard = await closed;
  t.is(((await withDeadline(inFlight, 5000, 'the call failing')) as Error).message.includes(heard.message), true);
});
