/** The proposal's `inc` example on a real cluster: A (a thread) awaits B (a process) in order. */
import { startCluster } from '../../src/index.js';
import type ServerA from './server-a.js';
import type { WorkerApi } from '../../src/index.js';

export interface CounterOptions {
  rounds?: number;
  kind?: 'thread' | 'process';
}

export interface CounterReport {
  rounds: number;
  last: number | undefined;
  inOrder: boolean;
  ms: number;
  callsPerSecond: number;
}

export async function runCounter({ rounds = 10_000, kind = 'process' }: CounterOptions = {}): Promise<CounterReport> {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  await using cluster = await startCluster({
    workers: [
      { name: 'a', module: new URL(`./server-a${ext}`, import.meta.url), kind: 'thread' },
      { name: 'b', module: new URL(`./server-b${ext}`, import.meta.url), kind },
    ],
  });
  const a = cluster.worker<WorkerApi<typeof ServerA>>('a');
  const started = performance.now();
  const { last, inOrder } = await a.run(rounds);
  const ms = performance.now() - started;
  return { rounds, last, inOrder, ms, callsPerSecond: Math.round((rounds / ms) * 1000) };
}
