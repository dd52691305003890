/**
 * transfer() across a real cluster, at the default maxFrameBytes: 100 MB moves between the
 * coordinator and a thread and between two threads without being copied into a frame — so without
 * `maxFrameBytes` in the way — while to a process the same call is encoded inline (8 MB here), and a
 * 100 MB one fails only its own call, leaving the buffer with its owner.
 */
import test from 'ava';
import { SerializationError, transfer, type WorkerStats } from '../src/index.js';
import { digest, patternBytes, patternDigest } from './fixtures/hardening-bytes.js';
import type { TransferWorker } from './fixtures/transfer-worker.js';
import { exitLog, fixture, startFor, within } from './helpers/cluster.js';

const WORKER = fixture('transfer-worker.ts');
const SIZE = 100_000_000;
const INLINE_SIZE = 8_000_000;
const LEG_MS = 20_000;

const start = (t: Parameters<typeof startFor>[0]) =>
  startFor(t, {
    // maxFrameBytes stays at its default: transferred buffers never enter a frame. The heartbeat is
    // relaxed only because the fixture makes and hashes 100 MB synchronously (seconds on a loaded CI box).
    heartbeatTimeoutMs: 30_000,
    workers: [
      { name: 'a', module: WORKER, kind: 'thread' },
      { name: 'b', module: WORKER, kind: 'thread' },
      { name: 'p', module: WORKER, kind: 'process' },
    ],
  });

const channelTo = (worker: WorkerStats, peer: string) => worker.peers.find((channel) => channel.peer === peer)!;

test.serial('coordinator ↔ thread: a 100 MB argument and a 100 MB result are transferred, not copied', async (t) => {
  const cluster = await start(t);
  const exits = exitLog(cluster);
  const a = cluster.worker<TransferWorker>('a');

  const bytes = patternBytes(SIZE, 1);
  const expected = digest(bytes);
  const call = a.digest(transfer(bytes, [bytes.buffer as ArrayBuffer]));
  t.is(bytes.byteLength, 0, 'detached as soon as the call is made');
  t.deepEqual(await within(call, LEG_MS, '100 MB to a'), expected);

  const back = await within(a.make(SIZE, 2), LEG_MS, '100 MB from a');
  t.deepEqual(digest(back), patternDigest(SIZE, 2));
  t.is(await a.keptLength(), 0, "a's buffer left a");

  const control = (await cluster.stats()).workers.find((w) => w.name === 'a')!.control!;
  t.true(control.bytesTransferredSent >= SIZE && control.bytesTransferredReceived >= SIZE, JSON.stringify(control));
  t.true(control.bytesSent < 1 << 20, `frames to a carried ${control.bytesSent} bytes`);
  t.deepEqual(exits.events, []);
});

test.serial('thread → thread: 100 MB transferred; thread → process: the same call encoded inline', async (t) => {
  const cluster = await start(t);
  const exits = exitLog(cluster);
  const a = cluster.worker<TransferWorker>('a');

  const toThread = await within(a.sendTo('b', SIZE, 3), LEG_MS, '100 MB a → b');
  t.deepEqual(toThread.got, toThread.expected);
  t.is(toThread.afterCall, 0);
  t.log(`100 MB a → b, transferred: ${toThread.ms.toFixed(0)} ms including b's sha256`);

  const toProcess = await within(a.sendTo('p', INLINE_SIZE, 4), LEG_MS, '8 MB a → p');
  t.deepEqual(toProcess.got, toProcess.expected);
  t.is(toProcess.afterCall, 0, 'detached on TCP too: code behaves the same whatever its peer is');

  const stats = (await cluster.stats()).workers.find((w) => w.name === 'a')!;
  const ab = channelTo(stats, 'b');
  const ap = channelTo(stats, 'p');
  t.true(ab.bytesTransferredSent >= SIZE && ab.bytesSent < 1 << 20, JSON.stringify(ab));
  t.true(ap.bytesTransferredSent === 0 && ap.bytesSent > INLINE_SIZE, JSON.stringify(ap));
  t.deepEqual(exits.events, []);
});

test.serial(
  'coordinator → process: 100 MB cannot move over TCP; at the default maxFrameBytes only that call fails and the buffer stays',
  async (t) => {
    const cluster = await start(t);
    const p = cluster.worker<TransferWorker>('p');
    const bytes = patternBytes(SIZE, 5);
    const error = await t.throwsAsync(within(p.digest(transfer(bytes, [bytes.buffer as ArrayBuffer])), LEG_MS, '100 MB to p'), {
      instanceOf: SerializationError,
    });
    t.regex(error!.message, /maxFrameBytes/);
    t.is(bytes.byteLength, SIZE, 'not detached: the call never left');
    const small = new Uint8Array([1, 2, 3]);
    t.deepEqual(
      await within(p.digest(transfer(small, [small.buffer as ArrayBuffer])), LEG_MS, 'then a small one'),
      digest(new Uint8Array([1, 2, 3])),
    );
  },
);

test.serial('pool: transfer() marks move nested buffers to a task and back', async (t) => {
  const cluster = await startFor(t, {
    pool: { module: fixture('hardening-pool.ts'), maxThreads: 1 },
    workers: [{ name: 'a', module: WORKER }],
  });
  const pool = cluster.pool<typeof import('./fixtures/hardening-pool.js')>();
  const bytes = patternBytes(INLINE_SIZE, 6);
  const expected = digest(bytes);
  const sent = pool.digestNested(transfer({ bytes }, [bytes.buffer as ArrayBuffer]));
  t.is(bytes.byteLength, 0, 'a view nested in an object is moved when marked');
  t.like(await within(sent, LEG_MS, 'nested to the pool'), expected);
  const back = await within(pool.makeMarked(INLINE_SIZE, 7), LEG_MS, 'nested from the pool');
  t.deepEqual(digest(back.bytes), patternDigest(INLINE_SIZE, 7));
});
