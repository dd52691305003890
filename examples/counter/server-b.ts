// Server B of the proposal: the handler simply returns its result. No hand-written "inc-response"
// message, no reply handler on the other side: convoy sends the return value back on the same ordered,
// batched channel.
import { defineWorker } from '../../src/index.js';

export default defineWorker(() => ({
  inc(x: number) {
    return x + 1;
  },
}));
