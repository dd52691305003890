/**
 * A cluster's hosts besides its own: the `nats` option checked, the agents connected to and waited for,
 * a worker placed on one (started by its agent, its control channel a NATS transport to the
 * coordinator), a channel between two threads of one agent, and what the coordinator's own workers need
 * to reach NATS for their pairs with workers elsewhere.
 */
import { EventEmitter } from 'node:events';
import { COORDINATOR_ENDPOINT, type PairEnd, type RemoteSpawn, workerEndpoint } from '../agent/protocol.js';
import { describe, describeKind } from '../errors.js';
import { rejectUnknownKeys } from '../option-keys.js';
import type { Bootstrap } from '../protocol/control.js';
import type { Transport } from '../transport/transport.js';
import type { HostInfo } from './host-entry.js';
import type { Hosts, HostsHealth } from './hosts.js';
import type { HostDownEvent, HostUpEvent, NatsClusterOptions, NatsScope } from './nats-options.js';
import type { RemoteChild } from './remote-child.js';
import { NATS_OPTION_KEYS, type WorkerSpec } from './types.js';

export interface ClusterHostsEvents {
  'host-up': [event: HostUpEvent];
  'host-down': [event: HostDownEvent];
}

/** A worker started on an agent: its child there and its control transport here. */
export interface PlacedWorker {
  child: RemoteChild;
  control: Transport;
}

/** Checks `startCluster({ nats })` before anything starts: unknown keys, and each field's type. */
export function checkNatsOptions(nats: unknown): NatsClusterOptions {
  if (typeof nats !== 'object' || nats === null) throw new TypeError(`Expected \`nats\` to be an options object, got ${describe(nats)}`);
  rejectUnknownKeys(nats, NATS_OPTION_KEYS, '`nats`');
  const options = nats as NatsClusterOptions;
  const servers = Array.isArray(options.servers) ? options.servers : [options.servers];
  if (servers.length === 0 || !servers.every((server) => typeof server === 'string' && server !== '')) {
    throw new TypeError(`Expected \`nats.servers\` to be a server URL or a non-empty array of them, got ${describe(options.servers)}`);
  }
  if (typeof options.secretFile !== 'string' || options.secretFile === '') {
    throw new TypeError(`Expected \`nats.secretFile\` to be the path of the cluster secret file, got ${describe(options.secretFile)}`);
  }
  for (const key of ['token', 'user', 'pass'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'string') {
      // Not described: it may hold the secret (an object of credentials given by mistake, say).
      throw new TypeError(`Expected \`nats.${key}\` to be a string, got ${describeKind(options[key])}`);
    }
  }
  if (options.tls !== undefined && (typeof options.tls !== 'object' || options.tls === null)) {
    throw new TypeError(`Expected \`nats.tls\` to be the nats client's TLS options object, got ${describe(options.tls)}`);
  }
  if (options.cluster !== undefined) {
    if (typeof options.cluster !== 'string' || !/^[\w.-]+$/.test(options.cluster)) {
      throw new TypeError(`Expected \`nats.cluster\` to be a name of letters, digits, '_', '.', '-', got ${describe(options.cluster)}`);
    }
  }
  return options;
}

export class ClusterHosts extends EventEmitter<ClusterHostsEvents> {
  readonly #hosts: Hosts;
  /** How the coordinator's own workers reach NATS: the user's options without the secret file. */
  readonly workerNats: NatsScope;

  static async connect(options: NatsClusterOptions, health: HostsHealth): Promise<ClusterHosts> {
    // Loaded here, not at the top: the NATS client costs every process and thread that imports convoy
    // ~70 ms of CPU at start, and only a cluster across hosts needs it.
    const { Hosts } = await import('./hosts.js');
    return new ClusterHosts(await Hosts.connect(options, health), options);
  }

  private constructor(hosts: Hosts, options: NatsClusterOptions) {
    super();
    this.#hosts = hosts;
    const { secretFile: _secretFile, cluster: _cluster, ...connect } = options;
    this.workerNats = { connect, scope: hosts.hub.cluster, secret: hosts.workerSecret };
    hosts.on('host-up', (event) => this.emit('host-up', event));
    hosts.on('host-down', (event) => this.emit('host-down', event));
    // A refusal fails whoever waits for that host (waitFor); nothing else is owed it.
    hosts.on('refused', () => {});
  }

  list(): HostInfo[] {
    return this.#hosts.list();
  }

  waitFor(names: readonly string[], timeoutMs: number): Promise<void> {
    return this.#hosts.waitFor(names, timeoutMs);
  }

  isUp(name: string): boolean {
    return this.#hosts.isUp(name);
  }

  /**
   * Starts `boot` on `host`'s agent, once the host is up (waiting up to `timeoutMs` for it: a restart
   * waits there for a host that is coming back), and opens the coordinator's end of its control channel.
   */
  async place(host: string, boot: Bootstrap, spec: WorkerSpec, timeoutMs: number): Promise<PlacedWorker> {
    await this.#hosts.waitFor([host], timeoutMs);
    const child = await this.#hosts.spawn(host, boot, remoteSpawn(spec));
    // The worker binds its side once it has booted and connected, which a loaded host may take most of
    // the start to do: the start's own deadline bounds it, not the transport's shorter default.
    const control = this.#hosts.hub.open(COORDINATOR_ENDPOINT, workerEndpoint(boot.name, boot.incarnation), {
      maxFrameBytes: boot.channel.maxFrameBytes,
      openTimeoutMs: timeoutMs,
    });
    return { child, control };
  }

  /** Asks `host`'s agent to connect two of its threads with a MessageChannel. False if it is down. */
  pairThreads(host: string, pair: number, ends: [PairEnd, PairEnd]): boolean {
    const entry = this.#hosts.entry(host);
    if (!entry?.up) return false;
    entry.send({ t: 'pair', pair, ends });
    return true;
  }

  /** Takes `host` down if its agent has gone silent too: its silent worker is lost with it, not hung. */
  lostIfSilent(host: string): boolean {
    return this.#hosts.downIfSilent(host);
  }

  close(): Promise<void> {
    return this.#hosts.close();
  }
}

function remoteSpawn(spec: WorkerSpec): RemoteSpawn {
  const spawn: RemoteSpawn = { kind: spec.kind ?? 'thread' };
  if (spec.env) spawn.env = spec.env;
  if (spec.argv) spawn.argv = [...spec.argv];
  if (spec.execArgv) spawn.execArgv = [...spec.execArgv];
  if (spec.resourceLimits) spawn.resourceLimits = spec.resourceLimits;
  return spawn;
}
