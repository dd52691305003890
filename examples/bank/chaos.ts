// Fault injection for a bank run: random kills about every `everyMs`, and one planned crash at
// `crashAtMs` that always happens — a run asked to crash can never end without one, however short.
import { setTimeout as sleep } from 'node:timers/promises';
import { createRng } from './config.js';

export interface ChaosOptions {
  /** Workers that may be killed. */
  targets: readonly string[];
  /** Kill a random live target about this often (0.5–1.5× at random); 0: never. */
  everyMs: number;
  /** Kill one live target this long after `startedAt`, whatever else happens. */
  crashAtMs?: number;
  seed: number;
  /** When the run started and when transfers stop (performance.now() clock). */
  startedAt: number;
  stopAt: number;
  /** Whether a target is down (dead, or restarting): killing it again would prove nothing. */
  isDown(name: string): boolean;
  /** Kills a worker; resolves to whether it died of it (one already dying may not). */
  kill(name: string): Promise<boolean>;
  /** Stops the faults early, with the transfers (Ctrl-C): no kill, planned or random, comes after it. */
  signal?: AbortSignal;
}

/** Waits `ms` and resolves true; resolves false at once instead if `signal` aborts (or had). */
export async function waitUnlessAborted(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  try {
    await sleep(ms, undefined, signal ? { signal } : {});
    return true;
  } catch (error) {
    if (signal?.aborted) return false;
    throw error;
  }
}

export async function injectFaults(o: ChaosOptions): Promise<void> {
  const pick = (rng: () => number): string | undefined => {
    const alive = o.targets.filter((n) => !o.isDown(n));
    return alive[Math.floor(rng() * alive.length)];
  };
  const random = async (): Promise<void> => {
    if (!(o.everyMs > 0)) return;
    const rng = createRng(o.seed * 7919);
    for (;;) {
      if (!(await waitUnlessAborted(o.everyMs * (0.5 + rng()), o.signal))) return;
      // The last kill leaves time to restart before the end, so the run measures recovery too.
      if (performance.now() + o.everyMs >= o.stopAt) return;
      const victim = pick(rng);
      if (victim) await o.kill(victim);
    }
  };
  const planned = async (): Promise<void> => {
    if (o.crashAtMs === undefined) return;
    const rng = createRng(o.seed * 7919 + 1);
    if (!(await waitUnlessAborted(Math.max(0, o.startedAt + o.crashAtMs - performance.now()), o.signal))) return;
    // Until one kill lands: every target may be restarting from a random kill just then.
    while (!(await tryKill(pick(rng)))) if (!(await waitUnlessAborted(20, o.signal))) return;
  };
  const tryKill = async (victim: string | undefined): Promise<boolean> => victim !== undefined && (await o.kill(victim));
  await Promise.all([random(), planned()]);
}
