// convoy: ordered, batched, awaited calls between worker threads and processes.

// --- For users -------------------------------------------------------------------------------------
export { startCluster, Cluster } from './cluster/cluster.js';
export type {
  ClusterOptions,
  WorkerSpec,
  PoolSpec,
  ClusterEvents,
  WorkerExitEvent,
  WorkerReadyEvent,
  WorkerRestartEvent,
} from './cluster/types.js';
export type { ClusterStats, WorkerStats } from './cluster/stats.js';
export type { ChannelSnapshot } from './rpc/endpoint-stats.js';
export { defineWorker, type WorkerDefinition, type WorkerFactory, type WorkerApi } from './worker/define-worker.js';
export { WorkerContext, type PeerExitEvent } from './worker/context.js';
export {
  ConvoyError,
  WorkerDiedError,
  RemoteError,
  MethodNotFoundError,
  SerializationError,
  TimeoutError,
  ClusterClosedError,
  ProtocolError,
  ChannelFullError,
  type DeathReason,
} from './errors.js';
export { notify, withOptions, type Remote, type Notifier } from './rpc/remote.js';
export { transfer } from './protocol/transfer.js';
export { currentCall, type CallContext } from './rpc/call-context.js';
export type { CallOptions } from './rpc/pending-call.js';
export { DEFAULTS, type ChannelOptions, type RpcOptions, type HealthOptions, type SharedMemoryOptions } from './options.js';

// --- For people extending convoy: transports, channels, the codec --------------------------------
export type { Transport, TransportHandlers } from './transport/transport.js';
export { createMemoryTransportPair } from './transport/memory.js';
export { PortTransport } from './transport/port.js';
export { ShmTransport, createShmPair } from './transport/shm.js';
export { TcpTransport } from './transport/tcp.js';
export { Channel, type ChannelConfig } from './channel/channel.js';
export { Endpoint, type EndpointConfig } from './rpc/endpoint.js';
export { createRemote, type Caller } from './rpc/remote.js';
export { Encoder, Decoder } from './protocol/codec.js';
export { FrameDecoder, frameHeader } from './protocol/framing.js';
export { PROTOCOL_VERSION, Kind, type Message } from './protocol/messages.js';
