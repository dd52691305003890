/**
 * What a worker incarnation starts from (its bootstrap): its name and place in the cluster, its module,
 * the channel options, and where to reach the coordinator. A worker on another host gets its module as
 * the user wrote it (its agent resolves it there) and listens only on that host's loopback.
 */
import type { FilledChannelOptions, FilledHealthOptions } from '../options.js';
import type { Bootstrap } from '../protocol/control.js';
import { PROTOCOL_VERSION } from '../protocol/messages.js';
import { AGENT_LISTEN_HOST } from './mesh.js';
import { agentModule, moduleUrl } from './paths.js';
import type { WorkerHandle } from './worker-handle.js';

export interface BootstrapContext {
  names: string[];
  channel: FilledChannelOptions;
  callTimeoutMs: number;
  health: FilledHealthOptions;
  /** Where the coordinator's listeners bind. */
  listenHost: string;
  /** The port of the coordinator's listener for its process workers, if it has one. */
  controlPort: number | undefined;
  /** The cluster has a pool. */
  pool: boolean;
}

export function buildBootstrap(handle: WorkerHandle, incarnation: number, context: BootstrapContext): Bootstrap {
  const { spec, host } = handle;
  const boot: Bootstrap = {
    v: PROTOCOL_VERSION,
    name: handle.name,
    incarnation,
    kind: handle.kind,
    module: host === undefined ? moduleUrl(spec.module) : agentModule(spec.module),
    serial: spec.serial ?? false,
    data: spec.data,
    names: context.names,
    channel: context.channel,
    callTimeoutMs: context.callTimeoutMs,
    linkWaitMs: context.health.startTimeoutMs,
    handshakeTimeoutMs: context.health.handshakeTimeoutMs,
    host: host === undefined ? context.listenHost : AGENT_LISTEN_HOST,
    pool: context.pool,
  };
  if (context.controlPort !== undefined && host === undefined) {
    boot.coordinatorPort = context.controlPort;
    boot.coordinatorHost = context.listenHost;
  }
  return boot;
}
