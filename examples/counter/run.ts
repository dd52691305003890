/** The counter example on a real cluster: A (a thread) awaits B's `inc(x)` (B a process) in order. */
import { startCluster } from '../../src/index.js';
import type ServerA from './server-a.js';
import type { Mismatch, WrongReply } from './server-a.js';
import type { WorkerApi } from '../../src/index.js';

export interface CounterOptions {
  rounds?: number;
  kind?: 'thread' | 'process';
  /** B's module. The tests put a faulty B here to show that the check can fail. @default ./server-b */
  serverB?: URL;
}

export interface CounterReport {
  /** inc() calls A made and awaited; one notify inc() follows them. */
  rounds: number;
  /** B's last reply: `rounds` when every reply is right. */
  last: number;
  /** Every reply answered its call (inc(x) answered x + 1), and B saw the calls in the order A made them. */
  inOrder: boolean;
  /** The first reply that did not answer its call, if any. */
  firstWrongReply?: WrongReply;
  /** The first place where B's record of the calls differs from A's, if any. */
  firstMismatch?: Mismatch;
  /** A's run, timed from the coordinator: the calls, the notify, and fetching B's record for the check. */
  ms: number;
  /** `rounds` over `ms`: inc() calls per second, the notify and the fetch of B's record counted in the time. */
  callsPerSecond: number;
}

export async function runCounter({ rounds = 10_000, kind = 'process', serverB }: CounterOptions = {}): Promise<CounterReport> {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  await using cluster = await startCluster({
    workers: [
      { name: 'a', module: new URL(`./server-a${ext}`, import.meta.url), kind: 'thread' },
      { name: 'b', module: serverB ?? new URL(`./server-b${ext}`, import.meta.url), kind },
    ],
  });
  const a = cluster.worker<WorkerApi<typeof ServerA>>('a');
  const started = performance.now();
  const { last, inOrder, firstWrongReply, firstMismatch } = await a.run(rounds);
  const ms = performance.now() - started;
  const report: CounterReport = { rounds, last, inOrder, ms, callsPerSecond: Math.round((rounds / ms) * 1000) };
  if (firstWrongReply) report.firstWrongReply = firstWrongReply;
  if (firstMismatch) report.firstMismatch = firstMismatch;
  return report;
}
