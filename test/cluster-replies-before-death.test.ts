/**
 * A reply that arrived before a death still resolves. A worker answers a burst of calls and exits at
 * once; its caller is busy with each reply (a little work per `.then`), so most replies are still waiting
 * to be handled on the caller's side when the death is seen. Every one of them must resolve: only a call
 * whose reply was never sent may fail.
 *
 * The callee is a thread in every case: a worker *process* that exits at once can lose its last replies
 * before they are sent — the kernel still holds them when the process is gone, and the caller's acks,
 * arriving after the exit, make it reset the connection (see the README's known limits).
 */
import test from 'ava';
import type { WorkerSpec } from '../src/index.js';
import { THREAD_TRANSPORTS, fixture, startFor, within } from './helpers/cluster.js';
import { failOnLeaks } from './helpers/leaks.js';

failOnLeaks(test);

const CALLS = 40_000;
/** Work per reply on the caller: enough that replies pile up behind it. */
const WORK_MICROS = 20;
/**
 * Room for every call at once: the callee then answers the whole burst (and exits) while its caller has
 * handled only the first few replies. (Within the default window, the last calls leave only once the caller
 * has worked through most replies, and little is left to lose.)
 */
const OPTIONS = { maxQueuedBytes: 128 << 20, heartbeatTimeoutMs: 60_000 };
/** Rounds per pair: the interleaving that lost replies did so in every round, so one is enough. */
const ROUNDS = 1;
const ROUND_MS = 30_000;

type Kind = 'thread' | 'process';
interface Burst {
  resolved: number;
  wrong: number;
  failures: Record<string, number>;
}

function spin(micros: number): void {
  const end = performance.now() + micros / 1000;
  while (performance.now() < end);
}

for (const { label, options } of THREAD_TRANSPORTS) {
  test.serial(`${label}: coordinator → thread: ${CALLS} answered calls all resolve though the callee exits right after`, async (t) => {
    for (let round = 0; round < ROUNDS; round++) {
      const cluster = await startFor(t, {
        ...OPTIONS,
        ...options,
        workers: [{ name: 'b', module: fixture('answers-then-exits.ts'), kind: 'thread' }],
      });
      const b = cluster.worker<{ exitAfter(n: number): void; answer(i: number): number }>('b');
      await b.exitAfter(CALLS);
      let resolved = 0;
      let wrong = 0;
      const failures: Record<string, number> = {};
      const calls: Promise<void>[] = [];
      for (let i = 0; i < CALLS; i++) {
        calls.push(
          b.answer(i).then(
            (value) => {
              if (value !== i) wrong++;
              resolved++;
              spin(WORK_MICROS);
            },
            (error: { code?: string }) => {
              failures[String(error?.code)] = (failures[String(error?.code)] ?? 0) + 1;
            },
          ),
        );
      }
      await within(Promise.all(calls), ROUND_MS, `round ${round}: the calls settle`);
      t.deepEqual({ resolved, wrong, failures }, { resolved: CALLS, wrong: 0, failures: {} }, `round ${round}`);
      await cluster.close();
    }
  });
}

// Threads over their MessagePort and over shared memory; a process caller's channel is TCP either way.
const pairs: [Kind, Kind, (typeof THREAD_TRANSPORTS)[number]][] = [
  ...THREAD_TRANSPORTS.map((transport) => ['thread', 'thread', transport] as [Kind, Kind, (typeof THREAD_TRANSPORTS)[number]]),
  ['process', 'thread', THREAD_TRANSPORTS[0]],
];
for (const [caller, callee, { label, options }] of pairs) {
  test.serial(`${label}: ${caller} → ${callee}: ${CALLS} answered calls all resolve though the callee exits right after`, async (t) => {
    for (let round = 0; round < ROUNDS; round++) {
      const workers: WorkerSpec[] = [
        { name: 'a', module: fixture('answers-then-exits.ts'), kind: caller },
        { name: 'b', module: fixture('answers-then-exits.ts'), kind: callee },
      ];
      const cluster = await startFor(t, { ...OPTIONS, ...options, workers });
      const a = cluster.worker<{ burst(to: string, n: number, workMicros: number): Burst }>('a');
      const burst = await within(a.burst('b', CALLS, WORK_MICROS), ROUND_MS, `round ${round}: the burst settles`);
      t.deepEqual(burst, { resolved: CALLS, wrong: 0, failures: {} }, `round ${round}`);
      await cluster.close();
    }
  });
}
