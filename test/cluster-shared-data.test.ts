/**
 * Shared memory and the channels: a channel carries copies, so a SharedArrayBuffer argument is refused
 * (msgpackr wrote it as `{}`), while a thread worker given one in its spec's `data` shares it.
 */
import test from 'ava';
import { SerializationError } from '../src/index.js';
import type { Counter } from './fixtures/counter.js';
import { fixture, startFor } from './helpers/cluster.js';

test('a thread shares the SharedArrayBuffer of its data; one sent as an argument is refused, and the channel goes on', async (t) => {
  const shared = new SharedArrayBuffer(4);
  const cluster = await startFor(t, { workers: [{ name: 't', module: fixture('counter.ts'), kind: 'thread', data: { shared } }] });
  const worker = cluster.worker<Counter>('t');
  t.is(await worker.bumpSharedData(), 1);
  t.is(Atomics.load(new Int32Array(shared), 0), 1, 'the coordinator sees the thread’s write');
  await t.throwsAsync(worker.viaPool('echo', [{ memory: new SharedArrayBuffer(8) }]), {
    instanceOf: SerializationError,
    message: /^The arguments of `viaPool` cannot be sent to worker "t": A SharedArrayBuffer cannot be sent/,
  });
  t.is(await worker.bumpSharedData(), 2, 'the channel goes on');
});
