// A replica applies the primary's writes in the order they reach it, and keeps what the check compares
// with the primary: the history of what it applied (seq, key and value, in order) and the store it left.
// It also counts the writes that were overtaken: applied after a write with a higher seq.
import { defineWorker } from '../../src/index.js';
import { History } from './history.js';

export interface Write {
  seq: number;
  key: string;
  value: number;
}

export default defineWorker(() => {
  const history = new History();
  let highest = -1;
  let overtaken = 0;
  return {
    apply(write: Write) {
      // One write delivered last is one write overtaken, not every write after its place.
      if (write.seq < highest) overtaken++;
      highest = Math.max(highest, write.seq);
      history.add(write);
    },
    state() {
      return { ...history.state(), overtaken };
    },
  };
});
