// The classic case for an ordered call: server A increments a counter on server B over a batched,
// ordered stream, and needs each answer back in order. With a one-way stream only, A writes
// `{ op: 'inc', x }`, B writes back a separate `inc-response` message, and A needs a handler for it
// that has lost the caller's local context. Here `await b.inc(x)` is an ordered, awaited call on that
// same stream, and the result comes back to the line that asked for it.
import { defineWorker, notify } from '../../src/index.js';
import type ServerB from './server-b.js';
import type { WorkerApi } from '../../src/index.js';

type B = WorkerApi<typeof ServerB>;

/**
 * Pipelined calls in flight at once. Each window is sent in one turn, and the next waits for its replies:
 * a million calls sent in one turn (--rounds 2000000) held A's event loop past its heartbeat, and A was
 * killed as hung.
 */
export const WINDOW = 10_000;

/** Where B's record first differs from what A sent (a reordering, a loss or a duplicate). */
export interface Mismatch {
  index: number;
  sent: number | undefined;
  seen: number | undefined;
}

/** A reply that does not answer its call: `inc(sent)` must answer `sent + 1`. `index` counts A's calls from 0. */
export interface WrongReply {
  index: number;
  sent: number;
  reply: number;
}

export function firstMismatch(sent: readonly number[], seen: readonly number[]): Mismatch | undefined {
  for (let index = 0; index < Math.max(sent.length, seen.length); index++) {
    if (sent[index] !== seen[index]) return { index, sent: sent[index], seen: seen[index] };
  }
  return undefined;
}

/** `count` calls `inc(from)`, `inc(from + 1)`, ..., all sent in this turn (one batch); their replies in issue order. */
function pipelined(inc: (x: number) => Promise<number>, from: number, count: number): Promise<number[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => inc(from + i)));
}

export default defineWorker((ctx) => ({
  /**
   * Runs `rounds` increments, the first half one at a time and the rest pipelined, then one `notify`.
   * In order means: every reply answers its own call (so the last one is `rounds`), and B saw the
   * arguments in the order A sent them.
   */
  async run(rounds: number) {
    const b = ctx.peer<B>('b');
    const sent: number[] = [];
    let wrongReply: WrongReply | undefined;
    const inc = async (x: number): Promise<number> => {
      const index = sent.push(x) - 1;
      const reply = await b.inc(x);
      // Each reply, not only the last: a reply off by one in the middle would otherwise go unseen.
      if (reply !== x + 1 && (wrongReply === undefined || index < wrongReply.index)) wrongReply = { index, sent: x, reply };
      return reply;
    };
    const oneAtATime = Math.floor(rounds / 2);
    let x = 0;
    for (let i = 0; i < oneAtATime; i++) x = await inc(x); // each waits for the last
    // Pipelined, a window at a time; replies come back in issue order.
    let last = x;
    for (let start = oneAtATime; start < rounds; start += WINDOW) {
      last = (await pipelined(inc, x + start - oneAtATime, Math.min(WINDOW, rounds - start))).at(-1)!;
    }
    // The one-way twin: same channel, same order, no reply.
    sent.push(rounds);
    await notify(b).inc(rounds);
    // A call after the notify starts after it on B, so B's record is complete when it answers.
    const mismatch = firstMismatch(sent, await b.seen());
    return {
      last,
      inOrder: wrongReply === undefined && mismatch === undefined,
      firstWrongReply: wrongReply,
      firstMismatch: mismatch,
    };
  },
}));
