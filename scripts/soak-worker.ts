/**
 * The worker of scripts/soak.ts: counts, echoes, relays to peers (one hop or several), checks that what
 * the coordinator sends it arrives in order, and reports its memory and open resources.
 */
import { defineWorker } from '../src/index.js';

export default defineWorker((ctx) => {
  /** Per sender, the last sequence number seen: FIFO means each one is larger than the last. */
  const lastSeq = new Map<string, number>();
  let checked = 0;
  let violations = 0;
  const see = (from: string, seq: number): void => {
    const last = lastSeq.get(from) ?? -1;
    if (seq <= last) violations++;
    lastSeq.set(from, seq);
    checked++;
  };

  const api = {
    /** A call from the coordinator: checked for order, answered with n + 1. */
    inc(from: string, seq: number, n: number) {
      see(from, seq);
      return n + 1;
    },
    /** A notify from the coordinator: checked for order. */
    note(from: string, seq: number) {
      see(from, seq);
    },
    echo(n: number) {
      return n;
    },
    /** Calls `to` over the direct pair channel. */
    relay(to: string, n: number) {
      return ctx.peer<typeof api>(to).echo(n);
    },
    /** Passes n + 1 along `path`, one peer after another; the last one returns it. */
    async hop(path: string[], n: number): Promise<number> {
      const [next, ...rest] = path;
      if (next === undefined) return n;
      return ctx.peer<typeof api>(next).hop(rest, n + 1);
    },
    fifo() {
      return { checked, violations };
    },
    memory() {
      const { heapUsed, external, rss } = process.memoryUsage();
      return { heapUsed, external, rss };
    },
    activeResources() {
      return process.getActiveResourcesInfo();
    },
  };
  return api;
});

export type SoakWorker = Awaited<ReturnType<typeof import('./soak-worker.js').default.factory>>;
