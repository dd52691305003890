/**
 * A PortTransport works through a flood in slices of ~10 ms: Node hands a port every queued message in one
 * go, so without them one busy port starves the thread's others (its control channel, heartbeats). Small
 * frames that come fast are checked against the slice only every few frames (reading the clock for each
 * cost a call made one at a time a few percent of its round trip); a stretch that turns slow is checked
 * frame by frame again, so a slice overruns by a few small frames at most.
 */
import { MessageChannel } from 'node:worker_threads';
import test from 'ava';
import { PortTransport } from '../src/transport/port.js';
import type { ReceivedFrame } from '../src/transport/transport.js';
import { withDeadline } from './helpers/deadline.js';
import { failOnLeaks } from './helpers/leaks.js';

failOnLeaks(test);

/** Fast frames first, so that the check stride has grown to its longest when the slow ones begin. */
const FAST = 2000;
const SLOW = 300;
const SLOW_FRAME_MS = 1;

/** Holds this thread for `ms`, as a slow handler does. */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

for (const shape of ['string', 'value'] as const) {
  test(`a flood of small ${shape} frames that turns slow is cut into slices: another callback runs after a few slow frames, and all arrive in order`, async (t) => {
    const { port1, port2 } = new MessageChannel();
    const transport = new PortTransport(port2);
    t.teardown(() => {
      transport.close();
      port1.close();
    });
    const received: number[] = [];
    let slowBeforeTurn: number | undefined;
    const all = new Promise<void>((resolve) => {
      transport.start({
        frame: (data: ReceivedFrame) => {
          const n = typeof data === 'string' ? Number(data) : (data as unknown[])[0];
          received.push(n as number);
          if (received.length <= FAST) return;
          // The first slow frame asks for a turn of the event loop: it comes when the slice ends.
          if (received.length === FAST + 1) setImmediate(() => (slowBeforeTurn = received.length - FAST));
          busy(SLOW_FRAME_MS);
          if (received.length === FAST + SLOW) resolve();
        },
        close() {},
        drain() {},
      });
    });
    // Posted in one go before any is delivered: the receiving port is handed all of them at once.
    for (let i = 0; i < FAST + SLOW; i++) port1.postMessage(shape === 'string' ? String(i) : [i, 0, 0, [0]]);
    await withDeadline(all, 30_000, 'every frame');
    t.deepEqual(
      received,
      Array.from({ length: FAST + SLOW }, (_, i) => i),
      'all delivered, in order',
    );
    t.not(slowBeforeTurn, undefined);
    // A 10 ms slice holds ~10 frames of 1 ms; an unchecked stride overruns it by at most 8 more. Without
    // slices the turn would come after all SLOW. A loaded machine only stretches the ms: fewer frames fit.
    t.true(slowBeforeTurn! <= 30, `the event loop turned after ${slowBeforeTurn} slow frames of ${SLOW}`);
    t.log(`the event loop turned after ${slowBeforeTurn} slow frames of ${SLOW}`);
  });
}
