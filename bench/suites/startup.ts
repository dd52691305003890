// Start-up against its floor, interleaved: startCluster() with default options against the time to spawn
// the same number of bare Node threads / processes that load msgpackr and report ready. Every window runs
// in a fresh Node process (fixtures/start-probe.mjs), so none inherits the last one's threads or heap.
//   start/<shape>-<n>   `start` ms (ratio to the floor), `close` ms, `rssPerWorkerMB` (this process's RSS
//                       growth per worker), CPU ms of the start per worker on the probe's main thread
//                       (`cpuMainMsPerWorker`) and in the workers (`cpuWorkersMsPerWorker`); convoy's also
//                       `openPairs` after the start
//   threads-64 also has every worker call every peer once: `touchedPairs`, `rssPerOpenedPairKB`
// A start that fails is reported as failed with its error (the class and code startCluster threw).

import { fork } from 'node:child_process';
import { once } from 'node:events';
import type { Sample } from '../harness.js';
import type { Arm, Comparison, Suite } from '../interleave.js';
import type { TargetSpec } from '../targets.js';
import { QUICK, flavor, flavorLabel } from '../scenarios/common.js';

type Shape = 'threads' | 'processes' | 'mixed';

const PROBE = new URL('../fixtures/start-probe.mjs', import.meta.url);

/** One probe run; rejects with the probe's error (a failed start) or if it dies without a word. */
async function probe(args: string[]): Promise<Sample> {
  // From source, the probe imports convoy's .ts index and needs tsx; the compiled build needs nothing.
  const child = fork(PROBE, args, {
    execArgv: flavor === 'dist' ? [] : ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = once(child, 'exit');
  let result: { value?: Sample; error?: string } | undefined;
  child.once('message', (m: { value?: Sample; error?: string }) => (result = m));
  const [code] = await exited;
  if (result?.error) throw new Error(result.error);
  if (!result?.value) throw new Error(`the start-up probe exited with ${String(code)} and no result`);
  return result.value;
}

const arm = (who: 'floor' | 'convoy', shape: Shape, n: number, touch: boolean): Arm => ({
  name: who === 'floor' ? `node/start/${shape}-${n}` : `convoy/start/${shape}-${n}`,
  unit: 'ms',
  window: () => probe([who, shape, String(n), ...(touch ? ['touch'] : [])]),
});

function startComparison(shape: Shape, n: number, targets: TargetSpec[], pairs: number, warmWindows: number): Comparison {
  return {
    subject: arm('convoy', shape, n, shape === 'threads' && n === 64),
    baseline: arm('floor', shape, n, false),
    targets,
    pairs,
    warmWindows,
  };
}

const starts = (shape: Shape, n: number): TargetSpec => ({
  what: `${n} ${shape} start with default options (within 60 s)`,
  metric: 'start',
  of: 'subject',
  op: '<=',
  bound: 60_000,
});

export const startupSuite: Suite = {
  name: 'startup',
  group: `start-up against its floor (convoy ${flavorLabel}; each window a fresh process)`,
  async open() {
    if (QUICK) return { comparisons: [startComparison('mixed', 16, [starts('mixed', 16)], 3, 0)], close: async () => {} };
    const comparisons: Comparison[] = [
      startComparison(
        'mixed',
        64,
        [{ what: '64 mixed start ≤ 1.3× the floor', metric: 'start', op: '<=', bound: 1.3 }, starts('mixed', 64)],
        5,
        1,
      ),
      startComparison('threads', 64, [starts('threads', 64)], 3, 0),
      startComparison('processes', 64, [starts('processes', 64)], 3, 0),
      ...(['threads', 'processes', 'mixed'] as const).map((s) => startComparison(s, 128, [starts(s, 128)], 2, 0)),
    ];
    return { comparisons, close: async () => {} };
  },
};
