/**
 * Memory after one huge message: a 100 MB argument, and a 100 MB result, must not stay behind in the
 * encoder's or decoder's buffers. After the message, some ordinary traffic and a full GC, what the sender
 * and the receiver retain (V8 heap + external memory) is back within a few MB of what they retained before.
 */
import test from 'ava';
import { type Cluster, type Remote, startCluster } from '../src/index.js';
import { MB, type MemoryReading, mb, readMemory, retained } from './fixtures/hardening-memory.js';
import { fixture, within } from './helpers/cluster.js';

const SIZE = 100_000_000;
/** What may remain: allocator slack and the odd cached object, not a copy of the message. */
const SLACK = 8 * MB;

interface Sink {
  memory(): MemoryReading;
  digest(bytes: Uint8Array): string;
  makeBytes(size: number, seed: number): Uint8Array;
  inc(by: number): number;
}

let cluster: Cluster;
test.before(async () => {
  cluster = await within(
    startCluster({
      maxFrameBytes: 256 << 20,
      heartbeatTimeoutMs: 60_000,
      workers: [
        { name: 't', module: fixture('hardening-sink.ts') },
        { name: 'p', module: fixture('hardening-sink.ts'), kind: 'process' },
      ],
    }),
    40_000,
    'start',
  );
});
test.after.always(() => cluster?.close());

/** Ordinary traffic after the big message: the codec's buffers are what small messages leave them. */
async function someCalls(w: Remote<Sink>): Promise<void> {
  for (let i = 0; i < 50; i++) await w.inc(1);
}

for (const name of ['t', 'p'] as const) {
  test.serial(`coordinator → ${name}: a 100 MB argument leaves neither side holding it`, async (t) => {
    const w = cluster.worker<Sink>(name);
    await someCalls(w);
    const before = { coordinator: readMemory(), worker: await w.memory() };
    await within(w.digest(new Uint8Array(SIZE).fill(7)), 60_000, '100 MB argument');
    await someCalls(w);
    const after = { coordinator: readMemory(), worker: await w.memory() };
    for (const side of ['coordinator', 'worker'] as const) {
      const grew = retained(after[side]) - retained(before[side]);
      t.log(`${side}: ${mb(retained(before[side]))} → ${mb(retained(after[side]))} (+${mb(grew)})`);
      t.true(grew < SLACK, `${side} retains ${mb(grew)} more after the message (bound ${mb(SLACK)})`);
    }
  });

  test.serial(`${name} → coordinator: a 100 MB result leaves neither side holding it`, async (t) => {
    const w = cluster.worker<Sink>(name);
    await someCalls(w);
    const before = { coordinator: readMemory(), worker: await w.memory() };
    const bytes = await within(w.makeBytes(SIZE, 1), 60_000, '100 MB result');
    t.is(bytes.byteLength, SIZE);
    await someCalls(w);
    const after = { coordinator: readMemory(), worker: await w.memory() };
    for (const side of ['coordinator', 'worker'] as const) {
      // The coordinator still holds the result it asked for: that is its own, not the codec's.
      const own = side === 'coordinator' ? SIZE : 0;
      const grew = retained(after[side]) - retained(before[side]) - own;
      t.log(`${side}: ${mb(retained(before[side]))} → ${mb(retained(after[side]))} (+${mb(grew)} beyond the result)`);
      t.true(grew < SLACK, `${side} retains ${mb(grew)} more after the message (bound ${mb(SLACK)})`);
    }
    t.is(bytes[0], bytes[0]); // keeps the result alive until the reading above
  });
}
