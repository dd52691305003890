// Death: how long until the last call in flight to a worker that died is rejected with WorkerDiedError.
// Each window starts a fresh cluster (not timed), puts IN_FLIGHT `hold()` calls on the victim (calls it does
// not answer), waits until it has started them all, then the victim dies, and the window times until the
// last call is rejected. A window fails if any call resolves, or fails with anything but WorkerDiedError.
//
// Bookkeeping rows: convoy itself ends the worker (`cluster.kill()`) and then fails its calls; they show
// what the failing costs, not how fast a death is noticed.
//   kill/thread, kill/process, kill/peer-thread (the calls come from a peer over its direct channel)
// Detection rows: the worker dies behind convoy's back, and convoy must notice. Each is interleaved with its
// floor: a bare thread or process dying the same way, timed until Node's own `exit` event reaches its parent.
//   sigkill/process, sigkill/peer-process   SIGKILL from outside (as the OOM killer would)
//   exit/thread, exit/process                the worker calls process.exit() by itself, at a set wall-clock time
//   hang/thread, hang/process                the worker busy-loops; time from the hanging call until the
//                                            heartbeat declares it hung (`detect`), and how much of that came
//                                            after heartbeatTimeoutMs (`overTimeout`); no floor

import type { Cluster, Remote } from '../../src/index.js';
import { startHost, type Host } from '../baselines/peer-host.js';
import type { Arm, Comparison, Suite } from '../interleave.js';
import type { TargetSpec } from '../targets.js';
import { wallNow } from '../measure.js';
import { QUICK, flavorLabel, spec, start, type BenchApi, type Kind } from '../scenarios/common.js';

const IN_FLIGHT = 1000;
/** Heartbeat settings of the hang rows: convoy's defaults, smaller in --quick. */
const HANG_HEALTH = QUICK ? { heartbeatIntervalMs: 50, heartbeatTimeoutMs: 300 } : { heartbeatIntervalMs: 500, heartbeatTimeoutMs: 3000 };
/** How far ahead a self-exit is scheduled: long enough for the exitAt call to arrive first. */
const EXIT_LEAD_MS = 30;

interface Settled {
  died: number;
  other: string[];
  reasons: Set<string>;
}

/** Issues `count` hold() calls; settles with how they ended once all have. */
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

function check(s: Pick<Settled, 'died' | 'other'>, reasons?: Set<string>, reason?: string): void {
  if (s.died !== IN_FLIGHT || s.other.length > 0) {
    throw new Error(
      `expected ${IN_FLIGHT} WorkerDiedError rejections, got ${s.died} (others: ${[...new Set(s.other)].join(', ') || 'none'})`,
    );
  }
  if (reasons && reason && (reasons.size !== 1 || !reasons.has(reason)))
    throw new Error(`expected reason ${reason}, got ${[...reasons].join(', ')}`);
}

/** A fresh cluster per window, always closed: `victim`, and a `caller` peer when two kinds are given. */
async function withCluster<T>(kinds: Kind[], fn: (c: Cluster) => Promise<T>, options = {}): Promise<T> {
  const names = kinds.length === 1 ? ['victim'] : ['caller', 'victim'];
  const cluster = await start(
    kinds.map((k, i) => spec(names[i]!, k)),
    options,
  );
  try {
    return await fn(cluster);
  } finally {
    await cluster.close();
  }
}

type How = 'kill' | 'sigkill' | 'exit';

/** Ends the victim the given way; resolves the wall-clock time its death counts from. */
function endVictim(cluster: Cluster, victim: Remote<BenchApi>, pid: number, how: How): { t0: number; done: Promise<unknown> } {
  if (how === 'exit') {
    const t0 = wallNow() + EXIT_LEAD_MS;
    return { t0, done: victim.exitAt(t0, 3).catch(() => {}) };
  }
  const t0 = wallNow();
  if (how === 'kill') return { t0, done: cluster.kill('victim') };
  process.kill(pid, 'SIGKILL');
  return { t0, done: Promise.resolve() };
}

/** The coordinator's calls to the victim (`peer` false) or a peer's (`peer` true); ms until the last is rejected. */
function deathArm(name: string, kind: Kind, how: How, peer: boolean): Arm {
  return {
    name: `convoy/death/${name}`,
    unit: 'ms',
    window: () =>
      withCluster(peer ? [kind, kind] : [kind], async (cluster) => {
        const victim = cluster.worker<BenchApi>('victim');
        const pid = await victim.pid();
        if (peer) {
          const caller = cluster.worker<BenchApi>('caller');
          await caller.holdPeer('victim', IN_FLIGHT);
          const { t0, done } = endVictim(cluster, victim, pid, how);
          const s = await caller.peerHoldSettled();
          await done;
          check({ died: s.died, other: s.rejected - s.died > 0 || s.resolved > 0 ? ['not WorkerDiedError'] : [] });
          return s.lastAt - t0;
        }
        const settled = holdCalls(victim, IN_FLIGHT);
        const held = await victim.held();
        if (held !== IN_FLIGHT) throw new Error(`worker holds ${held} calls, expected ${IN_FLIGHT}`);
        const { t0, done } = endVictim(cluster, victim, pid, how);
        const s = await settled;
        const ms = wallNow() - t0;
        await done;
        check(s, s.reasons, how === 'kill' ? 'killed' : undefined);
        return ms;
      }),
  };
}

/** The floor: a bare thread or process (a peer host) dying the same way, until its parent sees `exit`. */
function floorArm(kind: Kind, how: 'sigkill' | 'exit'): Arm {
  return {
    name: `node/death/${how}/${kind}`,
    unit: 'ms',
    async window() {
      const host: Host = await startHost(kind);
      try {
        let t0 = wallNow();
        if (how === 'exit') {
          t0 += EXIT_LEAD_MS;
          await host.request({ op: 'exit-at', wallMs: t0, code: 3 });
        } else process.kill(host.pid, 'SIGKILL');
        await host.exited;
        return wallNow() - t0;
      } finally {
        await host.close();
      }
    },
  };
}

function hangArm(kind: Kind): Arm {
  return {
    name: `convoy/death/hang/${kind}`,
    unit: 'ms',
    window: () =>
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
          check(s, s.reasons, 'heartbeat');
          if (reason !== 'heartbeat') throw new Error(`the hanging call ended with ${reason}, expected reason heartbeat`);
          return { detect: ms, overTimeout: ms - HANG_HEALTH.heartbeatTimeoutMs };
        },
        HANG_HEALTH,
      ),
  };
}

const within50 = (what: string): TargetSpec[] => [{ what, of: 'subject', op: '<=', bound: 50 }];
const pairs = QUICK ? 3 : 5;

export const deathSuite: Suite = {
  name: 'death',
  group: `death: ms until the last in-flight call is rejected (convoy ${flavorLabel})`,
  async open() {
    const bookkeeping = (name: string, kind: Kind, peer: boolean): Comparison => ({
      subject: deathArm(`kill/${name} (bookkeeping)`, kind, 'kill', peer),
      targets: within50(`bookkeeping: cluster.kill(${name}) fails in-flight calls ≤ 50 ms`),
      pairs,
    });
    const detection = (name: string, kind: Kind, how: 'sigkill' | 'exit', peer: boolean, what: string): Comparison => ({
      subject: deathArm(`${how}/${name}`, kind, how, peer),
      baseline: floorArm(kind, how),
      targets: within50(`detection: ${what}, in-flight calls rejected ≤ 50 ms`),
      pairs,
    });
    const comparisons: Comparison[] = [
      detection('process', 'process', 'sigkill', false, 'SIGKILL of a process'),
      detection('thread', 'thread', 'exit', false, 'a thread that exits by itself'),
      detection('process', 'process', 'exit', false, 'a process that exits by itself'),
      bookkeeping('thread', 'thread', false),
    ];
    if (!QUICK) {
      comparisons.push(
        detection('peer-process', 'process', 'sigkill', true, 'SIGKILL of a process, its peer calling'),
        bookkeeping('process', 'process', false),
        bookkeeping('peer-thread', 'thread', true),
      );
    }
    for (const kind of QUICK ? (['thread'] as const) : (['thread', 'process'] as const)) {
      comparisons.push({ subject: hangArm(kind), pairs: 3, warmWindows: 0 });
    }
    return { comparisons, close: async () => {} };
  },
};
