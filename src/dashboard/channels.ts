/**
 * Every open channel of a `cluster.stats()` reading, per direction, as cumulative counters: the
 * coordinator's channel to each worker (both ways) and each worker's direct channels to its peers.
 */
import type { ClusterStats } from '../cluster/stats.js';
import { COORDINATOR } from '../protocol/control.js';
import type { MethodLatency } from '../rpc/call-latency.js';
import type { ChannelFigures } from './snapshot.js';

export { COORDINATOR };

export interface ChannelReading extends ChannelFigures {
  from: string;
  to: string;
  /**
   * Changes whenever either end is a new incarnation, so its counters start again from zero. Compared
   * with the reading before, it tells a restart from a counter that went down.
   */
  generation: string;
  latency: MethodLatency[];
}

/** The key of a direction in maps: "from" and "to" joined by NUL. */
export function pairKey(from: string, to: string): string {
  return `${from}\u0000${to}`;
}

export function readChannels(stats: ClusterStats): ChannelReading[] {
  const incarnations = new Map(stats.workers.map((w) => [w.name, w.incarnation]));
  const out: ChannelReading[] = [];
  for (const worker of stats.workers) {
    const control = worker.control;
    if (control) {
      const generation = `${worker.incarnation}`;
      out.push({
        from: COORDINATOR,
        to: worker.name,
        generation,
        calls: control.calls,
        notifies: control.notifies,
        faults: control.faults,
        bytes: control.bytesSent + control.bytesTransferredSent,
        inFlight: control.inFlight,
        queuedBytes: control.queuedBytes,
        waiting: control.waiting,
        latency: control.latency,
      });
      // The worker's side of this channel is not in its answer: what the coordinator served stands in.
      out.push({
        from: worker.name,
        to: COORDINATOR,
        generation,
        calls: control.served,
        notifies: 0,
        faults: control.faultsServed,
        bytes: control.bytesReceived + control.bytesTransferredReceived,
        inFlight: null,
        queuedBytes: null,
        waiting: null,
        latency: [],
      });
    }
    for (const peer of worker.peers) {
      out.push({
        from: worker.name,
        to: peer.peer,
        generation: `${worker.incarnation}:${incarnations.get(peer.peer) ?? -1}`,
        calls: peer.calls,
        notifies: peer.notifies,
        faults: peer.faults,
        bytes: peer.bytesSent + peer.bytesTransferredSent,
        inFlight: peer.inFlight,
        queuedBytes: peer.queuedBytes,
        waiting: peer.waiting,
        latency: peer.latency,
      });
    }
  }
  return out;
}
