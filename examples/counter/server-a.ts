// Server A of the proposal: `await b.inc(x)` is an ordered, awaited call over the batched stream to B.
// Before convoy this took a one-way `write({ op: 'inc' })`, a separate `inc-response` handler, and no way
// to keep the caller's local context. Here the result comes back to the line that asked for it.
import { defineWorker, notify } from '../../src/index.js';
import type ServerB from './server-b.js';
import type { WorkerApi } from '../../src/index.js';

type B = WorkerApi<typeof ServerB>;

export default defineWorker((ctx) => ({
  /** Runs `rounds` increments, half pipelined, and checks each answer arrives in order. */
  async run(rounds: number) {
    const b = ctx.peer<B>('b');
    let x = 0;
    for (let i = 0; i < rounds / 2; i++) x = await b.inc(x); // one at a time: each waits for the last
    // Pipelined: all sent in one turn, one batch; replies come back in issue order.
    const answers = await Promise.all(Array.from({ length: rounds / 2 }, (_, i) => b.inc(x + i)));
    const inOrder = answers.every((answer, i) => answer === x + i + 1);
    void notify(b).inc(0); // the one-way twin: same channel, same order, no reply
    return { last: answers.at(-1), inOrder };
  },
}));
