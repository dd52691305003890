// Memory, from the heap after full collections (`used_heap_size` of each isolate, MB):
//   pending-100k  heap growth while 100k calls are pending on a worker that does not answer them until
//                 released: `caller` = the coordinator's heap (what convoy keeps per call in flight:
//                 promise, pending entry, ...; MB per 100k calls × 10.5 = bytes per call), `callee` = the
//                 worker's (the fixture's own 100k held promises included). --quick holds 20k calls and
//                 scales the figures to 100k.
//   heap-growth   heap after 1M more pipelined calls minus heap before them (100k in --quick), on both
//                 sides: should stay near 0 however many calls went before (nothing retained per call)
// The coordinator calls one worker thread; no user-side promise is kept per call.

import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Cluster, Remote } from '../../src/index.js';
import { withFixture, type Scenario } from '../harness.js';
import { GROUPS, MB, QUICK, callMany, spec, start, type BenchApi } from './common.js';

const PENDING = 100_000;
/** Calls actually held: fewer in --quick, figures scaled to PENDING. */
const HELD = QUICK ? 20_000 : PENDING;

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heap(): number {
  gc();
  gc();
  return v8.getHeapStatistics().used_heap_size;
}

interface One {
  cluster: Cluster;
  w: Remote<BenchApi>;
}

/** Rejections nobody handled while a memory fixture is open (see pending-100k). */
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);

const openOne = async (): Promise<One> => {
  unhandled.length = 0;
  process.on('unhandledRejection', onUnhandled);
  // Room for PENDING held calls plus the calls that count and release them.
  const cluster = await start([spec('w', 'thread')], { maxInFlight: PENDING + 100 });
  const w = cluster.worker<BenchApi>('w');
  await callMany(() => w.inc(1), 50_000);
  return { cluster, w };
};

async function closeOne({ cluster }: One): Promise<void> {
  await cluster.close();
  process.off('unhandledRejection', onUnhandled);
}

export const memoryScenarios: Scenario[] = [
  withFixture<One>(
    { name: 'convoy/memory/pending-100k', group: GROUPS.memory, unit: 'MB', higherIsBetter: false },
    {
      open: openOne,
      async measure({ w }) {
        const callee0 = await w.heap();
        const caller0 = heap();
        // No promise of our own per call (no .then/.catch), only convoy's: a rejection (the worker died)
        // is caught by the fixture's unhandledRejection listener and fails this repetition below.
        for (let i = 0; i < HELD; i++) void w.hold();
        const held = await w.held();
        if (held !== HELD) throw new Error(`worker holds ${held} calls, expected ${HELD}`);
        const caller = heap() - caller0;
        const callee = (await w.heap()) - callee0;
        await w.release();
        await w.get(); // answered after every released hold() (replies keep their order)
        if (unhandled.length > 0) throw unhandled[0];
        const scale = PENDING / HELD;
        return { caller: (caller * scale) / MB, callee: (callee * scale) / MB };
      },
      close: closeOne,
    },
  ),
  withFixture<One>(
    { name: 'convoy/memory/heap-growth', group: GROUPS.memory, unit: 'MB', higherIsBetter: false },
    {
      open: openOne,
      async measure({ w }, o) {
        const callee0 = await w.heap();
        const caller0 = heap();
        await callMany(() => w.inc(1), o.quick ? 100_000 : 1_000_000);
        const caller = heap() - caller0;
        const callee = (await w.heap()) - callee0;
        return { caller: caller / MB, callee: callee / MB };
      },
      close: closeOne,
    },
  ),
];
