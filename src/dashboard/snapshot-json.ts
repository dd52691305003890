/**
 * A snapshot as JSON, from a reading every page shares and the fields that are each page's own. A large
 * mesh's reading is megabytes of JSON (128 threads with every pair open: 3.8 MB, ~23 ms of the
 * coordinator's thread to serialise), so it is serialised once per reading, however many pages stream it
 * and whoever asks `/api/snapshot`; the result is the same text as serialising the whole snapshot.
 */
import type { ClusterLogEvent } from '../cluster/event-log.js';
import type { Reading } from './collector.js';
import type { HistoryPoint } from './snapshot.js';

const serialised = new WeakMap<Reading, string>();

/** `JSON.stringify({ ...reading, refreshMs, events, history })`, the reading's part serialised only once. */
export function snapshotJson(reading: Reading, own: { refreshMs: number; events: ClusterLogEvent[]; history?: HistoryPoint[] }): string {
  let shared = serialised.get(reading);
  if (shared === undefined) serialised.set(reading, (shared = JSON.stringify(reading)));
  const history = own.history === undefined ? '' : `,"history":${JSON.stringify(own.history)}`;
  // The reading's own closing brace gives way to the page's fields, in the order a spread would put them.
  return `${shared.slice(0, -1)},"refreshMs":${JSON.stringify(own.refreshMs)},"events":${JSON.stringify(own.events)}${history}}`;
}
