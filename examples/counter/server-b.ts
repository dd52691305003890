// Server B of the counter example: the handler simply returns its result. No hand-written
// "inc-response" message, no reply handler on the other side: convoy sends the return value back on the
// same ordered, batched channel.
//
// B also keeps the arguments in the order its handler saw them. A reply is matched to its call by id,
// so replies alone cannot show a reordering; B's own record can, and A compares it with what it sent.
import { defineWorker } from '../../src/index.js';

export default defineWorker(() => {
  const seen: number[] = [];
  return {
    inc(x: number) {
      seen.push(x);
      return x + 1;
    },
    /** Every `inc` argument so far, in the order the calls started here. */
    seen() {
      return seen;
    },
  };
});
