// The classic case for an ordered call: server A increments a counter on server B over a batched,
// ordered stream, and needs each answer back in order. With a one-way stream only, A writes
// `{ op: 'inc', x }`, B writes back a separate `inc-response` message, and A needs a handler for it
// that has lost the caller's local context. Here `await b.inc(x)` is an ordered, awaited call on that
// same stream, and the result comes back to the line that asked for it.
import { defineWorker, notify } from '../../src/index.js';
import type ServerB from './server-b.js';
import type { WorkerApi } from '../../src/index.js';

type B = WorkerApi<typeof ServerB>;

/** Where B's record first differs from what A sent (a reordering, a loss or a duplicate). */
export interface Mismatch {
  index: number;
  sent: number | undefined;
  seen: number | undefined;
}

export function firstMismatch(sent: readonly number[], seen: readonly number[]): Mismatch | undefined {
  for (let index = 0; index < Math.max(sent.length, seen.length); index++) {
    if (sent[index] !== seen[index]) return { index, sent: sent[index], seen: seen[index] };
  }
  return undefined;
}

export default defineWorker((ctx) => ({
  /**
   * Runs `rounds` increments, the first half one at a time and the rest pipelined, then one `notify`.
   * In order means: every reply answers its own call, and B saw the arguments in the order A sent them.
   */
  async run(rounds: number) {
    const b = ctx.peer<B>('b');
    const sent: number[] = [];
    const inc = (x: number): Promise<number> => {
      sent.push(x);
      return b.inc(x);
    };
    const oneAtATime = Math.floor(rounds / 2);
    let x = 0;
    for (let i = 0; i < oneAtATime; i++) x = await inc(x); // each waits for the last
    // Pipelined: all sent in one turn, one batch; replies come back in issue order.
    const answers = await Promise.all(Array.from({ length: rounds - oneAtATime }, (_, i) => inc(x + i)));
    const repliesMatch = answers.every((answer, i) => answer === x + i + 1);
    // The one-way twin: same channel, same order, no reply.
    sent.push(rounds);
    await notify(b).inc(rounds);
    // A call after the notify starts after it on B, so B's record is complete when it answers.
    const mismatch = firstMismatch(sent, await b.seen());
    return { last: answers.at(-1), inOrder: repliesMatch && mismatch === undefined, firstMismatch: mismatch };
  },
}));
