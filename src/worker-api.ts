// convoy/worker: what a worker module uses — `defineWorker`, its context, calls to peers and the errors —
// without the coordinator. A worker module that imports this entry rather than `convoy` does not load
// the code that spawns, wires and watches workers, which every worker would otherwise load and never
// run. Both entries share one copy of convoy in a worker: a module may import from either, or both.
export { defineWorker, type WorkerDefinition, type WorkerFactory, type WorkerApi } from './worker/define-worker.js';
export { WorkerContext, type PeerExitEvent, type WorkerContextEvents } from './worker/context.js';
export {
  ConvoyError,
  type ConvoyErrorCode,
  WorkerDiedError,
  WorkerStartError,
  RemoteError,
  MethodNotFoundError,
  SerializationError,
  TimeoutError,
  ClusterClosedError,
  ProtocolError,
  ChannelFullError,
  type DeathReason,
  type WorkerDiedInfo,
} from './errors.js';
export { notify, withOptions, type Remote, type Notifier } from './rpc/remote.js';
export { transfer } from './protocol/transfer.js';
export { currentCall, type CallContext } from './rpc/call-context.js';
export type { CallOptions } from './rpc/pending-call.js';
