/**
 * A worker's peer table, two of them in this process over a real TCP pair: the last words of a worker
 * that exits reach every peer channel, including one whose endpoint is still being built (a handler
 * served from the frames that came with its handshake).
 */
import { randomBytes } from 'node:crypto';
import test from 'ava';
import { WorkerDiedError } from '../src/errors.js';
import { fillChannelOptions } from '../src/options.js';
import type { Bootstrap, OpenReply } from '../src/protocol/control.js';
import { PROTOCOL_VERSION } from '../src/protocol/messages.js';
import { createRemote, notify } from '../src/rpc/remote.js';
import { PeerTable } from '../src/worker/peer-table.js';
import { deferred, outcome, withDeadline } from './helpers/deadline.js';
import { failOnLeaks } from './helpers/leaks.js';

failOnLeaks(test);

const DEADLINE_MS = 10_000;

function boot(name: string, kind: 'thread' | 'process'): Bootstrap {
  return {
    v: PROTOCOL_VERSION,
    name,
    incarnation: 0,
    kind,
    module: 'file:///none.js',
    serial: false,
    data: undefined,
    names: ['w0', 'w1'],
    channel: fillChannelOptions(),
    callTimeoutMs: 0,
    linkWaitMs: DEADLINE_MS,
    handshakeTimeoutMs: DEADLINE_MS,
    host: '127.0.0.1',
    pool: false,
  };
}

type W1 = { inc(by: number): number; exit(code: number): void };

// A review's (fault fuzz): a thread that returned a reply, then exited in the next handler of the same batch,
// lost that reply when the batch had come with its pair's TCP handshake: it was served as the channel's
// endpoint was built, before the channel was bound, and the last words closed only bound channels (13 runs in
// 160 of scratch/review-fuzz4/repro/thread-tcp-reply-lost.mjs).
test('last words reach a channel whose endpoint is being built: a reply queued before the exit leaves, then the goodbye', async (t) => {
  const secret = randomBytes(32);
  // w0 listens; its calls to w1 wait for the channel and leave the moment it is bound, right behind the
  // handshake's last message, so w1 reads them with it.
  const neverAsked = (): Promise<OpenReply> => new Promise(() => {});
  const w0 = new PeerTable(boot('w0', 'process'), secret, neverAsked);
  const w1 = new PeerTable(boot('w1', 'thread'), secret, neverAsked);
  t.teardown(() => {
    w0.close(new Error('test over'));
    w1.close(new Error('test over'));
  });
  const exited = deferred<number>();
  w1.serve({
    inc: (by: number) => by + 1,
    exit: (code: number) => {
      // What the runtime does on process.exit(): the thread ends right after, nothing later is sent.
      w1.sayLastWords({ exitCode: code, crashed: false });
      exited.resolve(code);
    },
  });
  w0.serve({});
  const port = await w0.listen();
  const remote = createRemote<W1>(w0.links.get('w1')!);
  const replied = outcome(remote.inc(1));
  void notify(remote).exit(4);
  const after = outcome(remote.inc(2));
  await w1.dial({ name: 'w0', incarnation: 0, host: '127.0.0.1', port, pair: 1 });
  t.is(await withDeadline(exited.promise, DEADLINE_MS, 'w1 exits'), 4);
  t.deepEqual(await withDeadline(replied, DEADLINE_MS, 'the reply'), { ok: true, value: 2 }, 'the reply made before the exit arrives');
  const late = await withDeadline(after, DEADLINE_MS, 'the call after the exit');
  t.false(late.ok, 'the call after the exit did not run');
  t.like(late.ok ? {} : late.error, { name: 'WorkerDiedError', reason: 'exit', exitCode: 4 });
  t.true(!late.ok && late.error instanceof WorkerDiedError);
});
