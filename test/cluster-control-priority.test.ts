/**
 * convoy's own calls on a control channel (stats, wiring a restarted peer) do not queue behind a user's
 * flood: they are not user messages, so flow control does not hold them back and per-pair FIFO does not
 * apply to them. Before, `cluster.stats()` behind a full window waited its 1 s timeout and reported the
 * worker without its channels.
 */
import test from 'ava';
import { notify } from '../src/index.js';
import type { Sink } from './fixtures/hardening-sink.js';
import { exitLog, fixture, startFor, within } from './helpers/cluster.js';

const SINK = fixture('hardening-sink.ts');
/**
 * A 1 MiB window holds ~1000 notifies (each counts its size + 1 KiB): what the worker must get through
 * before it reads the stats call, which keeps its answer far inside the 1 s stats timeout even on a
 * loaded machine (the default 16 MiB window put ~15k ahead of it: ~1 s at load 30). Behind the waiting
 * flood instead, the call would wait for ~59k notifies to drain, ~60 window round trips.
 */
const MAX_QUEUED_BYTES = 1 << 20;
const FLOOD = 60_000;

for (const kind of ['thread', 'process'] as const) {
  test.serial(`${kind}: cluster.stats() answers at once while the coordinator's channel to the worker is full of notifies`, async (t) => {
    const cluster = await startFor(t, {
      maxQueuedBytes: MAX_QUEUED_BYTES,
      workers: [
        { name: 'a', module: SINK, kind },
        { name: 'b', module: SINK, kind },
      ],
    });
    const exits = exitLog(cluster);
    const a = cluster.worker<Sink>('a');
    await a.resetSink(0);
    await a.relay('b', 0); // opens a ↔ b, the channel a's report must list
    const oneWay = notify(a);
    const accepted: Promise<void>[] = [];
    for (let seq = 0; seq < FLOOD; seq++) accepted.push(oneWay.sink('coordinator', seq, ''));
    let floodAccepted = false;
    // Accepted or not, the flood's promises settle; one rejected by the close at the end is no failure.
    void Promise.all(accepted).then(
      () => (floodAccepted = true),
      () => {},
    );

    const started = performance.now();
    const stats = await within(cluster.stats(), 5000, 'stats');
    const ms = performance.now() - started;
    const a1 = stats.workers.find((w) => w.name === 'a')!;
    t.log(`stats with ${a1.control!.waiting} notifies still waiting for room: ${ms.toFixed(0)} ms`);
    t.false(floodAccepted, 'stats came back while the flood still waited for room');
    t.deepEqual(
      a1.peers.map((p) => p.peer),
      ['b'],
      "a's own channels are in the report: its stats call did not time out behind the flood",
    );
    await within(Promise.all(accepted), 60_000, 'the flood drains');
    t.deepEqual(exits.events, []);
  });
}
