/**
 * A worker's answers to the coordinator's stats readings, sent as changes.
 *
 * A dashboard reads every channel of a cluster every second, and in a large mesh most channels are idle
 * between two readings: 64 threads with every pair open hold 4032 channels, and snapshotting, encoding
 * and decoding each of them cost ~50 µs of CPU, a fifth of a core at one reading a second. So a channel
 * whose counters have not moved since the answer the coordinator already holds is sent as its peer's
 * name alone, and the coordinator reuses the snapshot it has (cluster/stats.ts).
 *
 * Answers are numbered. The coordinator asks with the number of the last answer it holds; only when that
 * is this side's last answer can a name stand for "as before". Any other number (an answer lost to the
 * reading's deadline, two readings at once, a first reading) gets every channel in full.
 */
import type { StatsAnswer } from '../protocol/control.js';
import type { Endpoint } from '../rpc/endpoint.js';
import { snapshot } from '../rpc/endpoint-stats.js';
import { readProcessHealth } from './process-health.js';

/**
 * The counters of a channel that move whenever anything in its snapshot does. Latency changes only with
 * a reply or fault, and bytes only with a batch, so neither needs a mark of its own.
 */
const MARKS = 10;

function readMarks(endpoint: Endpoint, into: Float64Array): boolean {
  const { counts, channel } = endpoint;
  const { stats } = channel;
  const now = [
    counts.calls,
    counts.notifies,
    counts.replies,
    counts.faults,
    counts.served,
    stats.batchesSent,
    stats.batchesReceived,
    endpoint.pendingCalls,
    channel.queuedBytes,
    channel.waiting,
  ] as const;
  let changed = false;
  for (let i = 0; i < MARKS; i++) {
    if (into[i] !== now[i]) {
      into[i] = now[i];
      changed = true;
    }
  }
  return changed;
}

interface Sent {
  endpoint: Endpoint;
  marks: Float64Array;
}

export class StatsAnswers {
  /** The number of the last answer given; 0 before the first. */
  #last = 0;
  /** What the last answer said of each channel. */
  #sent = new Map<string, Sent>();

  /**
   * Answers a reading: `since` is the number of the answer the coordinator holds, `links` this worker's
   * direct channels by peer name (those with no endpoint are not open), in the order the answer lists them.
   */
  answer(since: number | undefined, links: ReadonlyMap<string, { readonly endpoint: Endpoint | undefined }>): StatsAnswer {
    const changesOnly = since !== undefined && since === this.#last;
    const sent = new Map<string, Sent>();
    const peers: StatsAnswer['peers'] = [];
    for (const [name, { endpoint }] of links) {
      if (!endpoint) continue;
      const before = this.#sent.get(name);
      // A new endpoint (the peer restarted, the pair reopened) is a new channel whatever its counters say.
      const same = before?.endpoint === endpoint;
      const marks = same ? before.marks : new Float64Array(MARKS);
      const moved = readMarks(endpoint, marks);
      peers.push(changesOnly && same && !moved ? name : snapshot(name, endpoint));
      sent.set(name, { endpoint, marks });
    }
    this.#sent = sent;
    return { answer: ++this.#last, peers, process: readProcessHealth() };
  }
}
