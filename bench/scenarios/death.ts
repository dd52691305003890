// Death: how long after a worker is killed (or hangs) until the last call in flight to it is rejected
// with WorkerDiedError. Each repetition starts a fresh one-worker cluster (not timed), puts IN_FLIGHT
// `hold()` calls on the worker (calls it does not answer), waits until the worker has started them all,
// then kills it and times until the last of them is rejected. A repetition fails if any call resolves or
// fails with anything but ERR_CONVOY_WORKER_DIED, or with the wrong reason.
//
//   thread-kill           cluster.kill() on a thread (worker.terminate())
//   process-kill          cluster.kill() on a process (SIGKILL from the coordinator)
//   process-sigkill       SIGKILL from outside convoy (`process.kill(pid)`, as the OOM killer would)
//   peer-thread-kill      the calls come from a peer thread over its direct channel; cluster.kill() the callee thread
//   peer-process-sigkill  the calls come from a peer process over its direct TCP channel; the callee process is SIGKILLed from outside
//   hung-thread / hung-process   the worker busy-loops; time from the hanging call until the heartbeat
//                                declares it hung and its calls fail. `detect` is that time, `overTimeout`
//                                how much of it came after heartbeatTimeoutMs.

import type { Cluster, Remote } from '../../src/index.js';
import type { RunOptions, Scenario } from '../harness.js';
import { GROUPS, QUICK, spec, start, type BenchApi, type Kind } from './common.js';

const IN_FLIGHT = 1000;
/** Heartbeat settings of the hang scenarios: convoy's defaults, smaller in --quick. */
export const HANG_HEALTH = QUICK
  ? { heartbeatIntervalMs: 50, heartbeatTimeoutMs: 300 }
  : { heartbeatIntervalMs: 500, heartbeatTimeoutMs: 3000 };

const meta = (name: string) => ({ name: `convoy/death/${name}`, group: GROUPS.death, unit: 'ms', higherIsBetter: false }) as const;

interface Settled {
  died: number;
  other: string[];
  reasons: Set<string>;
}

/** Issues `count` hold() calls; the promise settles with how they ended, once all have. */
function holdCalls(remote: Remote<BenchApi>, count: number): Promise<Settled> {
  const out: Settled = { died: 0, other: [], reasons: new Set() };
  const calls: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    calls.push(
      remote.hold().then(
        () => void out.other.push('resolved'),
        (e: { code?: string; reason?: string }) => {
          if (e?.code === 'ERR_CONVOY_WORKER_DIED') {
            out.died++;
            out.reasons.add(String(e.reason));
          } else out.other.push(String(e?.code ?? e));
        },
      ),
    );
  }
  return Promise.all(calls).then(() => out);
}

function check(s: Pick<Settled, 'died' | 'other'>, expected: number, reasons?: Set<string>, reason?: string): void {
  if (s.died !== expected || s.other.length > 0) {
    throw new Error(
      `expected ${expected} WorkerDiedError rejections, got ${s.died} (others: ${[...new Set(s.other)].join(', ') || 'none'})`,
    );
  }
  if (reasons && reason && (reasons.size !== 1 || !reasons.has(reason))) {
    throw new Error(`expected reason ${reason}, got ${[...reasons].join(', ')}`);
  }
}

/** A fresh cluster per repetition, always closed. */
async function withCluster<T>(kinds: Kind[], fn: (c: Cluster) => Promise<T>, options = {}): Promise<T> {
  const cluster = await start(
    kinds.map((k, i) => spec(kinds.length === 1 ? 'victim' : i === 0 ? 'caller' : 'victim', k)),
    options,
  );
  try {
    return await fn(cluster);
  } finally {
    await cluster.close();
  }
}

function killScenario(name: string, kind: Kind, how: 'cluster' | 'sigkill', expectedReason?: string): Scenario {
  return {
    ...meta(name),
    run: () =>
      withCluster([kind], async (cluster) => {
        const victim = cluster.worker<BenchApi>('victim');
        const pid = await victim.pid();
        const settled = holdCalls(victim, IN_FLIGHT);
        const held = await victim.held();
        if (held !== IN_FLIGHT) throw new Error(`worker holds ${held} calls, expected ${IN_FLIGHT}`);
        const t0 = performance.now();
        const killed = how === 'cluster' ? cluster.kill('victim') : sigkill(pid);
        const s = await settled;
        const ms = performance.now() - t0;
        await killed;
        check(s, IN_FLIGHT, s.reasons, expectedReason);
        return ms;
      }),
  };
}

function peerKillScenario(name: string, kind: Kind, how: 'cluster' | 'sigkill'): Scenario {
  return {
    ...meta(name),
    run: () =>
      withCluster([kind, kind], async (cluster) => {
        const caller = cluster.worker<BenchApi>('caller');
        const victim = cluster.worker<BenchApi>('victim');
        const pid = await victim.pid();
        await caller.holdPeer('victim', IN_FLIGHT);
        const t0 = performance.timeOrigin + performance.now();
        const killed = how === 'cluster' ? cluster.kill('victim') : sigkill(pid);
        const s = await caller.peerHoldSettled();
        await killed;
        check({ died: s.died, other: s.rejected - s.died > 0 || s.resolved > 0 ? ['not WorkerDiedError'] : [] }, IN_FLIGHT);
        return s.lastAt - t0;
      }),
  };
}

function hangScenario(name: string, kind: Kind): Scenario {
  return {
    ...meta(name),
    run: (_o: RunOptions) =>
      withCluster(
        [kind],
        async (cluster) => {
          const victim = cluster.worker<BenchApi>('victim');
          await victim.inc(1);
          const settled = holdCalls(victim, IN_FLIGHT);
          await victim.held();
          const t0 = performance.now();
          const hung = victim.hang().then(
            () => 'resolved',
            (e: { code?: string; reason?: string }) => (e?.code === 'ERR_CONVOY_WORKER_DIED' ? String(e.reason) : String(e?.code ?? e)),
          );
          const [s, reason] = await Promise.all([settled, hung]);
          const ms = performance.now() - t0;
          check(s, IN_FLIGHT, s.reasons, 'heartbeat');
          if (reason !== 'heartbeat') throw new Error(`the hanging call ended with ${reason}, expected reason heartbeat`);
          return { detect: ms, overTimeout: ms - HANG_HEALTH.heartbeatTimeoutMs };
        },
        HANG_HEALTH,
      ),
  };
}

export const deathScenarios: Scenario[] = [
  killScenario('thread-kill', 'thread', 'cluster', 'killed'),
  ...(QUICK ? [] : [killScenario('process-kill', 'process', 'cluster', 'killed')]),
  // The reason is `disconnected` or `crash`, whichever convoy notices first (socket close or exit).
  killScenario('process-sigkill', 'process', 'sigkill'),
  // Left out of --quick: process-kill (process-sigkill covers processes), the peer deaths (two workers per
  // repetition) and the hang of a process.
  ...(QUICK
    ? []
    : [peerKillScenario('peer-thread-kill', 'thread', 'cluster'), peerKillScenario('peer-process-sigkill', 'process', 'sigkill')]),
  hangScenario('hung-thread', 'thread'),
  ...(QUICK ? [] : [hangScenario('hung-process', 'process')]),
];

/** SIGKILLs `pid` behind convoy's back; nothing to await. */
function sigkill(pid: number): undefined {
  process.kill(pid, 'SIGKILL');
  return undefined;
}
