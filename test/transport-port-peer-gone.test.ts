/**
 * A MessagePort emits `close` when the thread on its other side exits, but not always: a port handed to a
 * thread after it was terminated never closes (nobody received it, so nothing will ever close it). The
 * coordinator can do that in the moment between a thread's end and its exit event; the caller's channel
 * then waited forever for a close. Told the peer is gone (`peerGone`), the transport now closes itself
 * after a grace, and a call in flight on it fails with the death instead of hanging.
 */
import { once } from 'node:events';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import test from 'ava';
import { Channel } from '../src/channel/channel.js';
import { WorkerDiedError } from '../src/errors.js';
import { Endpoint } from '../src/rpc/endpoint.js';
import { createShmPair, createThreadTransport } from '../src/transport/shm.js';
import { outcome, withDeadline } from './helpers/deadline.js';
import { failOnLeaks } from './helpers/leaks.js';

failOnLeaks(test);

/** A port whose other end went to a thread that had already been terminated: it never closes by itself. */
async function portInLimbo(): Promise<MessagePort> {
  const thread = new Worker('setInterval(() => {}, 1000)', { eval: true });
  await once(thread, 'online');
  await thread.terminate();
  const { port1, port2 } = new MessageChannel();
  thread.postMessage(port2, [port2]);
  return port1;
}

for (const kind of ['port', 'shm'] as const) {
  /** This side's transport of a thread pair over `port`: the port alone, or shared-memory rings beside it. */
  const transportOver = (port: MessagePort) => createThreadTransport(port, kind === 'shm' ? createShmPair(4096, 0)[0] : undefined);

  test(`${kind}: a port whose peer is gone but never closed closes after the grace: the call in flight fails with the death`, async (t) => {
    const port = await portInLimbo();
    const endpoint = new Endpoint(new Channel(transportOver(port)), { peerName: 'v' });
    t.teardown(() => endpoint.destroy(new Error('test teardown')));
    const call = outcome(endpoint.call('inc', [1]));
    const death = new WorkerDiedError({ worker: 'v', reason: 'killed' });
    endpoint.channel.peerDied(death);
    const settled = await withDeadline(call, 5000, 'the call in flight to a peer whose port never closes');
    t.false(settled.ok);
    if (!settled.ok) {
      t.like(settled.error, { name: 'WorkerDiedError', worker: 'v', reason: 'killed', mayHaveRun: true });
      t.regex((settled.error as Error).message, /during the call to `inc`/);
    }
    t.true(endpoint.closed);
  });

  test(`${kind}: a port whose peer closed it in time is closed by its own close, not the grace`, async (t) => {
    const { port1, port2 } = new MessageChannel();
    const endpoint = new Endpoint(new Channel(transportOver(port1)), { peerName: 'v' });
    t.teardown(() => endpoint.destroy(new Error('test teardown')));
    const call = outcome(endpoint.call('inc', [1]));
    endpoint.channel.peerDied(new WorkerDiedError({ worker: 'v', reason: 'exit', exitCode: 0 }));
    const started = performance.now();
    port2.close();
    const settled = await withDeadline(call, 5000, 'the call in flight');
    t.false(settled.ok);
    t.true(performance.now() - started < 200, 'at the close, well within the grace');
  });
}
