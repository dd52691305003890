// A replica applies the primary's writes. It checks, for every write, that its history stays a prefix
// of the primary's: the write it receives must be exactly the next sequence number.
import { defineWorker } from '../../src/index.js';

export interface Write {
  seq: number;
  key: string;
  value: number;
}

export default defineWorker(() => {
  const history: number[] = [];
  const store = new Map<string, number>();
  let outOfOrder = 0;
  return {
    apply(write: Write) {
      if (write.seq !== history.length) outOfOrder++;
      history.push(write.seq);
      store.set(write.key, write.value);
    },
    /** Is this replica's history a prefix of 0, 1, 2, ... (the primary's)? */
    state() {
      const prefix = history.every((seq, i) => seq === i);
      return { applied: history.length, outOfOrder, prefix, store: Object.fromEntries(store) };
    },
  };
});
