/**
 * currentCall() reads the handler now starting from one slot per thread that every copy of convoy shares:
 * a worker module importing another copy than its runtime's (its own build, a bundle) must still see it.
 */
import test from 'ava';
import * as ours from '../src/rpc/call-context.js';

test('a second copy of the module reads the call the first one entered, and none outside it', async (t) => {
  // A query string makes the loader evaluate the module again: another copy, with module state of its own.
  const other = (await import(`../src/rpc/call-context.js?copy=${Date.now()}`)) as typeof ours;
  t.not(other.currentCall, ours.currentCall, 'two copies');
  const signal = new AbortController().signal;
  const previous = ours.enterCall({ capture: () => ({ from: 'b', signal }) });
  try {
    t.deepEqual(other.currentCall(), { from: 'b', signal });
  } finally {
    ours.exitCall(previous);
  }
  t.throws(() => other.currentCall(), { message: /only available synchronously at the start of a handler/ });
});
