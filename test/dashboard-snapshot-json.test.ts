/**
 * A snapshot's JSON built from a shared reading (src/dashboard/snapshot-json.ts): the same text as
 * serialising the whole snapshot, whatever the page's own fields, and the reading serialised once however
 * many pages are sent it.
 */
import test from 'ava';
import type { ClusterLogEvent } from '../src/cluster/event-log.js';
import type { Reading } from '../src/dashboard/collector.js';
import { snapshotJson } from '../src/dashboard/snapshot-json.js';
import type { HistoryPoint } from '../src/dashboard/snapshot.js';

/** A reading with the awkward parts of real ones: nested rows, nulls, absent fields, text to escape. */
function reading(serialisations = { count: 0 }): Reading {
  return {
    version: 1,
    at: 1764582000000,
    intervalMs: 1002,
    closed: false,
    cluster: {
      workers: { ready: 2, starting: 0, restarting: 0, dead: 0, closed: 0 },
      callsPerSec: 12.5,
      notifiesPerSec: 0,
      bytesPerSec: 1e6,
      faultsPerSec: 0,
      faults: 0,
      deaths: 1,
      restarts: 1,
      pool: { threads: 1, queued: 0, completed: 7, tasksPerSec: 0.5 },
      // Counts each time JSON.stringify reaches the reading.
      toJSON(this: object) {
        serialisations.count++;
        const { toJSON: _, ...rest } = this as Record<string, unknown>;
        return rest;
      },
    } as Reading['cluster'],
    coordinator: { eventLoopDelayMs: null, heapUsedBytes: 123 },
    workers: [],
    pairs: [
      {
        from: 'w-"1"\n',
        to: 'coordinator',
        callsPerSec: 1 / 3,
        notifiesPerSec: 0,
        faultsPerSec: 0,
        bytesPerSec: 10,
        calls: 5,
        notifies: 0,
        faults: 0,
        bytes: 100,
        inFlight: null,
        queuedBytes: null,
        waiting: null,
      },
    ],
    latency: { byMethod: [{ method: 'inc', callsPerSec: 2, p50Ms: 0.02, p99Ms: null }], byPair: [] },
  };
}

const events: ClusterLogEvent[] = [{ seq: 3, at: 1764582000001, type: 'exit', worker: 'w-1', reason: 'crashed' } as ClusterLogEvent];
const history: HistoryPoint[] = [{ at: 1764581999000, callsPerSec: 1, notifiesPerSec: 0, bytesPerSec: 2, faultsPerSec: 0, deaths: 0 }];

test('the same text as serialising the whole snapshot, with and without history', (t) => {
  const shared = reading();
  for (const own of [
    { refreshMs: 250, events },
    { refreshMs: 1000, events: [], history },
    { refreshMs: 10_000, events, history: [] },
  ]) {
    t.is(snapshotJson(shared, own), JSON.stringify({ ...shared, ...own }), JSON.stringify(own));
    t.deepEqual(JSON.parse(snapshotJson(shared, own)), JSON.parse(JSON.stringify({ ...shared, ...own })));
  }
});

test('a reading is serialised once, however many pages it is sent to; a new reading again', (t) => {
  const serialisations = { count: 0 };
  const shared = reading(serialisations);
  snapshotJson(shared, { refreshMs: 250, events });
  snapshotJson(shared, { refreshMs: 1000, events: [], history });
  snapshotJson(shared, { refreshMs: 500, events });
  t.is(serialisations.count, 1);
  snapshotJson(reading(serialisations), { refreshMs: 250, events });
  t.is(serialisations.count, 2);
});
