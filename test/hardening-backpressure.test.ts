/**
 * A sender that outruns its receiver must not grow memory without bound. The coordinator
 * floods one worker with notifies, each awaited (`await notify(r).m(i)`), the receiver handles each
 * slowly, and both sides' retained memory (read after a full GC) stays under a bound stated from
 * `maxQueuedBytes`, while far more bytes than that bound cross the channel; every message arrives once,
 * in order (the receiver checks `seq === expected` as it goes).
 *
 * The tests run one at a time: each floods the coordinator's own event loop, and two at once would
 * measure each other. The thread tests run with the thread's channels on its MessagePort and on
 * shared-memory rings (where a full ring holds the sender back too, below the window).
 *
 * Why the bounds hold: a data message may only be queued or unacknowledged while it fits the window
 * (`maxQueuedBytes`, each message counting its encoded size plus MESSAGE_OVERHEAD_BYTES for the handler
 * it will keep pending), and a frame's acknowledgement waits for its async notify handlers. So the
 * sender holds at most one window of encoded messages plus the frames built from them (×2), and the
 * receiver at most one window of frames plus the decoded messages whose handlers are still pending.
 */
import test, { type ExecutionContext } from 'ava';
import { notify, type ClusterOptions } from '../src/index.js';
import { MB, mb, readMemory, retained, type MemoryReading } from './fixtures/hardening-memory.js';
import type { Sink } from './fixtures/hardening-sink.js';
import { THREAD_TRANSPORTS, exitLog, fixture, startFor, within } from './helpers/cluster.js';

/** Memory is read (after a GC) every this many messages, on both sides. */
const SAMPLE_EVERY = 50_000;

interface Flood {
  kind: 'thread' | 'process';
  count: number;
  padLength: number;
  /** `async`: the handler yields a macrotask (setImmediate) before it settles; `spin`: a sync busy-wait. */
  handler: 'async' | 'spin';
  spinUs?: number;
  options?: Partial<ClusterOptions>;
  senderBound: number;
  receiverBound: number;
  /** Bytes that must cross the channel: enough that buffering them would break the bounds. */
  minBytesSent: number;
}

interface FloodResult {
  waits: number;
  bytesSent: number;
  senderGrowth: number;
  receiverGrowth: number;
}

async function flood(t: ExecutionContext, f: Flood): Promise<FloodResult> {
  const cluster = await startFor(t, { ...f.options, workers: [{ name: 'r', module: fixture('hardening-sink.ts'), kind: f.kind }] });
  const exits = exitLog(cluster);
  const r = cluster.worker<Sink>('r');
  await r.resetSink(SAMPLE_EVERY);

  // A macrotask ticker: an `await notify()` during which it ticked had to wait for room.
  let ticks = 0;
  let ticking = true;
  const tick = (): void => {
    ticks++;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  t.teardown(() => {
    ticking = false;
  });

  const pad = 'x'.repeat(f.padLength);
  const base = readMemory();
  let peak: MemoryReading = base;
  let waits = 0;
  const started = performance.now();
  try {
    for (let seq = 0; seq < f.count; seq++) {
      const before = ticks;
      if (f.handler === 'async') await notify(r).sink('coordinator', seq, pad);
      else await notify(r).spinSink('coordinator', seq, pad, f.spinUs ?? 0);
      if (ticks !== before) waits++;
      if (seq % SAMPLE_EVERY === 0) {
        const now = readMemory();
        if (retained(now) > retained(peak)) peak = now;
      }
    }
  } finally {
    ticking = false;
  }
  const sentMs = performance.now() - started;
  // An awaited call behind the last notify: when it answers, every notify has been handled.
  const report = await within(r.sinkReport(), 60_000, 'sink report');
  const stats = await cluster.stats();
  const bytesSent = stats.workers[0]!.control!.bytesSent;
  const receiverGrowth = retained(report.peak!) - retained(report.baseline!);
  const senderGrowth = retained(peak) - retained(base);
  t.log(
    `${f.kind}, ${f.handler} handler: ${f.count} notifies, ${mb(bytesSent)} sent in ${(sentMs / 1000).toFixed(1)} s, ` +
      `${waits} waits for room; sender +${mb(senderGrowth)} (bound ${mb(f.senderBound)}, peak heap ${mb(peak.heapUsed)} + external ${mb(peak.external)}), ` +
      `receiver +${mb(receiverGrowth)} (bound ${mb(f.receiverBound)}, peak heap ${mb(report.peak!.heapUsed)} + external ${mb(report.peak!.external)})`,
  );

  t.deepEqual(exits.events, [], 'the receiver stayed alive');
  t.is(report.received, f.count, 'every notify handled once');
  t.deepEqual(report.bySender, { coordinator: { next: f.count } }, 'in order: each seq was the one expected');
  t.true(waits > 0, 'the sender was held back by the window');
  t.true(bytesSent >= f.minBytesSent, `${mb(bytesSent)} crossed the channel, ${mb(f.minBytesSent)} required`);
  t.true(senderGrowth <= f.senderBound, `sender grew ${mb(senderGrowth)}, bound ${mb(f.senderBound)}`);
  t.true(receiverGrowth <= f.receiverBound, `receiver grew ${mb(receiverGrowth)}, bound ${mb(f.receiverBound)}`);
  return { waits, bytesSent, senderGrowth, receiverGrowth };
}

test.serial('process (TCP): 200k awaited notifies to a sync handler that spins; default 16 MiB window', async (t) => {
  // Sender: ≤ 2 windows (encoded messages, then the frames the socket holds until written) = 32 MiB,
  // + 32 MiB slack. Receiver: sync handlers ack each frame at once; it holds a frame or two and the
  // socket's buffers: 32 MiB.
  const maxQueuedBytes = 16 * MB;
  await flood(t, {
    kind: 'process',
    count: 200_000,
    padLength: 900,
    handler: 'spin',
    spinUs: 2,
    senderBound: 4 * maxQueuedBytes,
    receiverBound: 32 * MB,
    minBytesSent: 2 * 4 * maxQueuedBytes,
  });
});

for (const { label, options } of THREAD_TRANSPORTS) {
  test.serial(
    `${label}: thread: 400k awaited notifies to a slow async handler; both heaps stay bounded by the window, all in order`,
    async (t) => {
      // ~420 B per notify on the wire, 1 MiB window. Sender: ≤ 2 windows (queued messages and the frame
      // built from them) + 30 MiB for what one GC cycle may not have freed. Receiver: ≤ 1 window of frames,
      // plus each pending message decoded (≤ 2 KB of objects while its handler awaits, < 1k of them) +
      // slack: 64 MiB. What costs time is the number of messages, so they carry bytes enough to matter.
      const maxQueuedBytes = 1 * MB;
      await flood(t, {
        kind: 'thread',
        count: 400_000,
        padLength: 400,
        handler: 'async',
        options: { ...options, maxQueuedBytes },
        senderBound: 2 * maxQueuedBytes + 30 * MB,
        receiverBound: 64 * MB,
        // Twice the larger bound: a side that buffered the flood could not stay under it.
        minBytesSent: 128 * MB,
      });
    },
  );

  /*
   * Regression: the window used to bound encoded bytes only, while a message whose async handler is
   * pending costs the receiver ~1 KB of heap whatever its size on the wire: ~30-byte notifies put ~500k
   * handlers in flight (~550 MB) and the heartbeat killed the receiver. Each data message now counts its
   * size plus MESSAGE_OVERHEAD_BYTES against the window.
   */
  test.serial(
    `${label}: thread, default options: 300k small notifies to a slow async handler keep the receiver within 4 × maxQueuedBytes, alive`,
    async (t) => {
      const maxQueuedBytes = 16 * MB;
      await flood(t, {
        kind: 'thread',
        count: 300_000,
        padLength: 8,
        handler: 'async',
        options,
        senderBound: 2 * maxQueuedBytes + 30 * MB,
        receiverBound: 4 * maxQueuedBytes,
        // Here the point is the number of messages, not their bytes: ~8–9 MB of tiny notifies (fewer when
        // more of them cross in runs, see Outbox.openRun), all of which fit one window by bytes alone, and
        // would then hold ~300 MB of pending handlers.
        minBytesSent: 6 * MB,
      });
    },
  );
}
