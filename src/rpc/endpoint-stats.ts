/** The numbers a dashboard shows for one channel, read from an endpoint and its channel. */
import type { MethodLatency } from './call-latency.js';
import type { Endpoint } from './endpoint.js';

export interface ChannelSnapshot {
  peer: string;
  /** What carries the channel: `port` (MessagePort), `shm` (shared-memory rings), `tcp`, … */
  transport: string;
  /**
   * The user's traffic on the channel, from this side: calls made, notifies sent, their replies and faults,
   * and messages served, of whose calls `faultsServed` failed in their handler. convoy's own calls (stats,
   * wiring, exits) are not counted.
   */
  calls: number;
  notifies: number;
  replies: number;
  faults: number;
  served: number;
  faultsServed: number;
  batchesSent: number;
  batchesReceived: number;
  bytesSent: number;
  bytesReceived: number;
  /** Bytes of ArrayBuffers moved with `transfer()` instead of copied into frames. */
  bytesTransferredSent: number;
  bytesTransferredReceived: number;
  /** Calls awaiting a reply. */
  inFlight: number;
  /** Bytes queued for the next batch. */
  queuedBytes: number;
  /** Data messages waiting for room (backpressure). */
  waiting: number;
  /** Latency of the calls this side made on the channel, per method (sampled: see CallLatency). */
  latency: MethodLatency[];
}

export function snapshot(peer: string, endpoint: Endpoint): ChannelSnapshot {
  const { stats } = endpoint.channel;
  return {
    peer,
    transport: endpoint.channel.transportKind,
    ...endpoint.counts,
    batchesSent: stats.batchesSent,
    batchesReceived: stats.batchesReceived,
    bytesSent: stats.bytesSent,
    bytesReceived: stats.bytesReceived,
    bytesTransferredSent: stats.bytesTransferredSent,
    bytesTransferredReceived: stats.bytesTransferredReceived,
    inFlight: endpoint.pendingCalls,
    queuedBytes: endpoint.channel.queuedBytes,
    waiting: endpoint.channel.waiting,
    latency: endpoint.latency.snapshot(),
  };
}
