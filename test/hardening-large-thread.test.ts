/**
 * Large payloads over MessagePorts: with `maxFrameBytes: 256 MiB`, 100 MB arguments and
 * results arrive byte-exact between the coordinator and a thread and between two threads, and a big
 * message on one pair does not hold up another.
 */
import test from 'ava';
import { BIG_FRAMES, bigWithCoordinator, bigPairDoesNotDelayOthers } from './fixtures/hardening-large-checks.js';
import { exitLog, fixture, startFor } from './helpers/cluster.js';

const SINK = fixture('hardening-sink.ts');

const cluster = () => ({
  ...BIG_FRAMES,
  workers: [
    { name: 'a', module: SINK, kind: 'thread' as const },
    { name: 'b', module: SINK, kind: 'thread' as const },
    { name: 'c', module: SINK, kind: 'thread' as const },
  ],
});

test.serial('threads, maxFrameBytes 256 MiB: a 100 MB argument to a, and a 100 MB result from it, arrive byte-exact', async (t) => {
  const started = await startFor(t, cluster());
  const exits = exitLog(started);
  await bigWithCoordinator(t, started, 'a');
  t.deepEqual(exits.events, []);
});

test.serial('threads: 100 MB a → b and b → a, byte-exact, while calls from the coordinator to c keep completing', async (t) => {
  const started = await startFor(t, cluster());
  const exits = exitLog(started);
  await bigPairDoesNotDelayOthers(t, started, { a: 'a', b: 'b', c: 'c', alsoResult: true });
  t.deepEqual(exits.events, []);
});
