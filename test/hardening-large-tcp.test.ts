/**
 * Large payloads over TCP: with `maxFrameBytes: 256 MiB`, 100 MB arguments and results arrive
 * byte-exact between the coordinator and a process (both ways) and between two processes, and a big
 * message on one pair does not hold up another. (Loopback TCP here moves only ~15-50 MB/s: one
 * direction between processes is enough; the reply path is the same framing.)
 */
import test from 'ava';
import { BIG_FRAMES, bigWithCoordinator, bigPairDoesNotDelayOthers } from './fixtures/hardening-large-checks.js';
import { exitLog, fixture, startFor } from './helpers/cluster.js';

const SINK = fixture('hardening-sink.ts');

test.serial('processes, maxFrameBytes 256 MiB: a 100 MB argument to p, and a 100 MB result from it, arrive byte-exact', async (t) => {
  const cluster = await startFor(t, { ...BIG_FRAMES, workers: [{ name: 'p', module: SINK, kind: 'process' }] });
  const exits = exitLog(cluster);
  await bigWithCoordinator(t, cluster, 'p');
  t.deepEqual(exits.events, []);
});

test.serial('processes: 100 MB p → q, byte-exact, while calls from the coordinator to c keep completing', async (t) => {
  const cluster = await startFor(t, {
    ...BIG_FRAMES,
    workers: [
      { name: 'p', module: SINK, kind: 'process' },
      { name: 'q', module: SINK, kind: 'process' },
      { name: 'c', module: SINK, kind: 'thread' },
    ],
  });
  const exits = exitLog(cluster);
  await bigPairDoesNotDelayOthers(t, cluster, { a: 'p', b: 'q', c: 'c', alsoResult: false });
  t.deepEqual(exits.events, []);
});
