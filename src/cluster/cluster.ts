/**
 * The coordinator: spawns the workers, wires the mesh, watches heartbeats, restarts what fails, and
 * closes everything. `Cluster` is the thin public face over this engine.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { availableParallelism } from 'node:os';
import { AgentRefusedError, HostDownError } from '../agent/errors.js';
import { ClusterClosedError, WorkerDiedError, WorkerStartError, describe, relayed, toError } from '../errors.js';
import { ClusterDashboards } from '../dashboard/cluster-dashboards.js';
import type { DashboardServer } from '../dashboard/server.js';
import {
  fillChannelOptions,
  fillHealthOptions,
  fillRpcOptions,
  fillSharedMemoryOptions,
  type FilledChannelOptions,
  type FilledHealthOptions,
} from '../options.js';
import { MAX_TIMER_MS, expectNumber, type DashboardOptions } from '../options.js';
import { NO_POOL, System, type Bootstrap } from '../protocol/control.js';
import { buildBootstrap } from './bootstrap.js';
import { ClusterHosts, checkNatsOptions } from './cluster-hosts.js';
import type { HostInfo } from './host-entry.js';
import { shutDownWorker, within } from './shutdown.js';
import { transferAll } from '../protocol/transfer.js';
import { createRemote, type Remote } from '../rpc/remote.js';
import { diedError } from '../rpc/link.js';
import { currentCall } from '../rpc/call-context.js';
import { EventLog } from './event-log.js';
import { Heartbeat } from './heartbeat.js';
import { ControlListener } from './listener.js';
import { Pool, poolWireOf } from './pool.js';
import { settleLimited } from './settle-limited.js';
import { SharedMemoryPlan } from './shared-memory.js';
import { expandSpecs, expectListenHost, expectModule } from './specs.js';
import { collectStats, type ClusterStats } from './stats.js';
import { rejectUnknownKeys } from '../option-keys.js';
import {
  CLUSTER_OPTION_KEYS,
  type ClusterEvents,
  type ClusterOptions,
  POOL_SPEC_KEYS,
  type WorkerExitEvent,
  type WorkerReadyEvent,
} from './types.js';
import { RestartBackoff } from './restart-backoff.js';
import { WorkerHandle } from './worker-handle.js';
import { Wiring } from './wiring.js';

/**
 * Workers started at once. Booting is CPU-bound: enough at once keeps every core busy while some wait on
 * I/O, but a whole large cluster at once starves each worker for longer than its own start may take
 * (`startTimeoutMs`), and its handshake for longer than its deadline (a process then connects again).
 */
const START_CONCURRENCY = Math.max(4, availableParallelism() * 8);
/**
 * How long close() waits for a death under way to be reported. A local worker's report waits for its exit,
 * then at most 1 s for its last words; a remote worker's for its agent's word, which a lost host never sends.
 * Past this wait, what would establish the death later is done (WorkerHandle.hastenDeath), and its report
 * waited for as long again.
 */
const LAST_DEATH_REPORT_MS = 2000;

export class Cluster extends EventEmitter<ClusterEvents> {
  readonly #handles = new Map<string, WorkerHandle>();
  readonly #remotes = new Map<string, Remote<unknown>>();
  readonly #secret = randomBytes(32);
  readonly #options: ClusterOptions;
  readonly #health: FilledHealthOptions;
  readonly #channel: FilledChannelOptions;
  readonly #callTimeoutMs: number;
  readonly #host: string;
  readonly #heartbeat: Heartbeat;
  #listener: ControlListener | undefined;
  /** The agents' hosts, in a cluster with the `nats` option. */
  #hosts: ClusterHosts | undefined;
  #pool: Pool | undefined;
  #poolRemote: Remote<unknown> | undefined;
  #closing: Promise<void> | undefined;
  /** The workers whose deaths, under way when close() was called, are still reported (see #close); 'any' for its first turn. */
  #lastDeaths: Set<WorkerHandle> | 'any' | undefined;
  /** Wakes the restart loops sleeping in their backoff, when the cluster closes. */
  readonly #backoff: RestartBackoff;
  readonly #wiring: Wiring;
  /** What happened to the workers, for dashboards (fed by every event this cluster emits). */
  readonly #log = new EventLog();
  readonly #dashboards: ClusterDashboards;
  #startCalled = false;

  /** Made by startCluster(), which starts it: use that. */
  constructor(options: ClusterOptions) {
    super();
    this.#options = options;
    this.#health = fillHealthOptions(options);
    this.#channel = fillChannelOptions(options);
    this.#callTimeoutMs = fillRpcOptions(options).callTimeoutMs;
    this.#host = expectListenHost(options.host);
    const shm = new SharedMemoryPlan(fillSharedMemoryOptions(options));
    this.#dashboards = new ClusterDashboards(
      { stats: () => this.stats(), events: this.#log },
      () => this.#closing !== undefined,
      options.dashboard,
    );
    if (options.nats !== undefined) checkNatsOptions(options.nats);
    const specs = expandSpecs(options.workers, { hasNats: options.nats !== undefined, hasPool: options.pool !== undefined });
    // Built for each incarnation's control channel: an open is asked by that incarnation, not its successor.
    const system = (handle: WorkerHandle) => {
      const incarnation = handle.incarnation;
      return {
        // A call's signal aborts when the worker gives up on it (timeout, abort) or is gone: the task is
        // taken back. A notify's would abort when the worker exits; it runs on.
        [System.pool]: (method: string, ...args: unknown[]) => this.#relayToPool(method, args, currentCall().signal),
        [System.poolNotify]: (method: string, ...args: unknown[]) => this.#requirePool().runNotified(method, args.map(transferAll)),
        [System.open]: (peer: string, had: number) => this.#wiring.open(handle, incarnation, peer, had),
      };
    };
    for (const { name, spec } of specs) {
      this.#handles.set(
        name,
        new WorkerHandle(name, spec, {
          secret: this.#secret,
          bootstrap: (n, incarnation) => this.#bootstrap(n, incarnation),
          expectProcess: (n, incarnation) => this.#listener!.expect(n, incarnation),
          forgetProcess: (n) => this.#listener?.forget(n),
          expose: options.expose ?? {},
          system,
          startTimeoutMs: this.#health.startTimeoutMs,
          exitGraceMs: this.#health.heartbeatTimeoutMs,
          callTimeoutMs: this.#callTimeoutMs,
          channel: this.#channel,
          shm,
          place: (host, boot, spec) => this.#hosts!.place(host, boot, spec, this.#health.startTimeoutMs),
          natsScope: () => this.#hosts?.workerNats,
          onDeath: (handle, event, wasReady) => this.#onDeath(handle, event, wasReady),
          onEnding: (handle, error) => this.#wiring.tellEnding(handle, error),
        }),
      );
    }
    this.#wiring = new Wiring([...this.#handles.values()], {
      listenHost: this.#host,
      timeoutMs: this.#health.startTimeoutMs,
      pairAgentThreads: (host, pair, ends) => this.#hosts?.pairThreads(host, pair, ends) ?? false,
      shm,
    });
    this.#heartbeat = new Heartbeat(this.#health, (handle) => {
      // A worker on a host whose agent went silent too is lost with its host, not hung.
      if (handle.host !== undefined && this.#hosts?.lostIfSilent(handle.host)) return;
      this.#log.add({ type: 'hung', worker: handle.name, incarnation: handle.incarnation });
      handle.kill('heartbeat');
    });
    this.#backoff = new RestartBackoff(this.#health.restartDelayMs);
  }

  override emit<K extends keyof ClusterEvents>(event: K, ...args: ClusterEvents[K]): boolean {
    this.#log.recordClusterEvent(event, args[0]);
    return this.#deliver(event, args);
  }

  /**
   * Events of the start (each worker's `worker-ready`, and any death, restart or host event meanwhile):
   * held until the turn after `startCluster()` resolves, when a listener added then hears them all, in
   * order; or until `close()`, which delivers them first. Dropped when the start fails: nobody has the
   * cluster. The log has them at once.
   */
  #held: { event: keyof ClusterEvents; args: unknown[] }[] | undefined = [];

  #deliver(event: keyof ClusterEvents, args: unknown[]): boolean {
    if (!this.#held) return super.emit(event, ...(args as never));
    this.#held.push({ event, args });
    return this.listenerCount(event) > 0;
  }

  #releaseHeld(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const { event, args } of held) super.emit(event, ...(args as never));
  }

  /** Every worker name, in spec order. */
  get names(): string[] {
    return [...this.#handles.keys()];
  }

  /** A typed proxy to worker `name`. Calls follow the worker across restarts. */
  worker<T>(name: string): Remote<T> {
    let remote = this.#remotes.get(name);
    if (!remote) {
      const handle = this.#handles.get(name);
      if (!handle) throw new TypeError(`Unknown worker "${name}" (known: ${this.names.join(', ')})`);
      remote = createRemote(handle.link);
      this.#remotes.set(name, remote);
    }
    return remote as Remote<T>;
  }

  /** The piscina pool configured with `startCluster({ pool })`: unordered, parallel. */
  pool<T>(): Remote<T> {
    this.#poolRemote ??= createRemote(this.#requirePool());
    return this.#poolRemote as Remote<T>;
  }

  /**
   * Hard-kills a worker (SIGKILL / terminate), for fault tests. Resolves once it has exited and its death is
   * reported (`worker-exit` emitted). A worker with nothing running to end (waiting to restart, or being
   * started again) resolves at once: no worker-exit, and its restart goes on.
   */
  async kill(name: string): Promise<void> {
    const handle = this.#handles.get(name);
    if (!handle) throw new TypeError(`Unknown worker "${name}" (known: ${this.names.join(', ')})`);
    if (this.#closing) throw new ClusterClosedError();
    // Waiting to restart, being started again, or given up: its restart goes on (a load killed would be a
    // failed try of it, which spends a restart and can give the worker up).
    if (handle.state !== 'ready') return;
    const child = handle.child;
    // Its death reported too: its worker-exit emitted, its calls failed, its state `dead` (or restarting).
    const reported = handle.kill('killed');
    await child?.exited;
    await reported;
  }

  /** The agents' hosts that have joined this cluster, up or down (none without the `nats` option). */
  hosts(): HostInfo[] {
    return this.#hosts?.list() ?? [];
  }

  /** Counters for every worker and channel (the coordinator's and the workers' own). */
  stats(): Promise<ClusterStats> {
    return collectStats([...this.#handles.values()], this.#pool);
  }

  /** The address of the live dashboard (with its token), if one is served: `startCluster({ dashboard })`. */
  get dashboardUrl(): string | undefined {
    return this.#dashboards.url;
  }

  /**
   * Serves the live dashboard of this cluster: a web page, `/api/snapshot`, `/events` and `/metrics`.
   * It stops when the cluster closes (or, with `hold`, keeps showing the last state).
   */
  serveDashboard(options?: DashboardOptions): Promise<DashboardServer> {
    return this.#dashboards.serve(options);
  }

  /** Ends every worker and settles every pending call (ERR_CONVOY_CLOSED). Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** @internal startCluster() calls it, once. */
  async start(): Promise<void> {
    // A second start would spawn every worker again as the same incarnation, with no death for the first.
    if (this.#startCalled) throw new Error('A cluster is started once, by startCluster()');
    this.#startCalled = true;
    const handles = [...this.#handles.values()];
    let started = performance.now();
    // Whatever fails from here closes what was made before it: a listener that cannot bind its `host`
    // must not leave the pool's threads behind.
    try {
      if (this.#options.pool) this.#pool = await Pool.create(this.#options.pool, this.#callTimeoutMs);
      if (handles.some((h) => h.kind === 'process')) {
        this.#listener = await ControlListener.open(this.#host, {
          secret: this.#secret,
          maxFrameBytes: this.#channel.maxFrameBytes,
          handshakeTimeoutMs: this.#health.handshakeTimeoutMs,
        });
      }
      started = performance.now();
      // The pool loads its module beside the workers' start: a module that fails to load fails the start.
      const poolLoaded = this.#pool?.loaded(this.#health.startTimeoutMs);
      poolLoaded?.catch(() => {}); // awaited below, after the workers; meanwhile not an unhandled rejection
      await this.#joinHosts(handles);
      // Each worker is ready once it has loaded: a peer that needs it opens their channel then. One that
      // fails to start will not be started again: a factory waiting for a channel to it fails at once
      // (it waited out startTimeoutMs), and the first failure, in time, is the one reported: the others
      // may only be its consequences.
      let first: { handle: WorkerHandle; error: unknown } | undefined;
      await settleLimited(handles, START_CONCURRENCY, async (h) => {
        try {
          await h.start();
          h.markReady();
          // Made now, for the incarnation that is ready now: it may die before the start is over.
          this.emit('worker-ready', this.#readyEvent(h, started));
        } catch (error) {
          first ??= { handle: h, error };
          h.gaveUp();
          throw error;
        }
      });
      if (first) {
        const { handle, error } = first;
        throw error instanceof WorkerStartError ? error : new WorkerStartError(handle.name, toError(error).message, { cause: error });
      }
      await poolLoaded;
    } catch (error) {
      return this.#abandonStart(error);
    }
    // One that died since is watched again by its restart, once ready.
    for (const handle of handles) if (handle.state === 'ready') this.#heartbeat.watch(handle);
    await this.#dashboards.serveConfigured().catch((error: unknown) => this.#abandonStart(error));
    setImmediate(() => this.#releaseHeld());
  }

  /** A start that failed: its held events are dropped (nobody has the cluster), it closes, and `error` is thrown. */
  async #abandonStart(error: unknown): Promise<never> {
    this.#held = undefined;
    await this.close();
    throw error;
  }

  /** Connects to the agents (`nats`) and waits, up to `startTimeoutMs`, for every host a spec names. */
  async #joinHosts(handles: WorkerHandle[]): Promise<void> {
    if (!this.#options.nats) return;
    const hosts = await ClusterHosts.connect(this.#options.nats, this.#health);
    this.#hosts = hosts;
    hosts.on('host-up', (event) => this.emit('host-up', event));
    hosts.on('host-down', (event) => this.emit('host-down', event));
    const names = new Set(handles.flatMap((handle) => (handle.host === undefined ? [] : [handle.host])));
    await hosts.waitFor([...names], this.#health.startTimeoutMs);
  }

  /**
   * A worker's pool task. What the worker transferred arrived as buffers this side owns: they move on to
   * the pool thread, and the result's buffers move back to the worker, so nothing is copied on the way.
   */
  async #relayToPool(method: string, args: unknown[], signal: AbortSignal | undefined): Promise<unknown> {
    // The worker keeps its own deadline: the cluster's callTimeoutMs is not applied a second time here.
    let result: unknown;
    try {
      result = await this.#requirePool().call(method, args.map(transferAll), { timeoutMs: 0, signal });
    } catch (error) {
      // A task's failure reaches the worker as it came from the pool, not wrapped as this handler's throw.
      const wire = poolWireOf(error);
      throw wire ? relayed(error as Error, wire) : error;
    }
    return transferAll(result);
  }

  #requirePool(): Pool {
    if (!this.#pool) throw new TypeError(NO_POOL);
    return this.#pool;
  }

  #bootstrap(name: string, incarnation: number): Bootstrap {
    return buildBootstrap(this.#handles.get(name)!, incarnation, {
      names: this.names,
      channel: this.#channel,
      callTimeoutMs: this.#callTimeoutMs,
      health: this.#health,
      listenHost: this.#host,
      controlPort: this.#listener?.port,
      pool: this.#options.pool !== undefined,
    });
  }

  #onDeath(handle: WorkerHandle, event: Omit<WorkerExitEvent, 'restarting'>, wasReady: boolean): void {
    this.#heartbeat.unwatch(handle);
    if (this.#closing && this.#lastDeaths !== 'any' && !this.#lastDeaths?.has(handle)) return;
    if (!wasReady) {
      // It died while being wired: the start or restart under way sees its wiring fail and answers that
      // (one restart loop per worker). The workers wiring to it must stop waiting for it now.
      this.#wiring.tellPeers(handle, { ...event, restarting: true }, true);
      return;
    }
    const maxRestarts = handle.spec.maxRestarts ?? this.#health.maxRestarts;
    const restarting =
      !this.#closing &&
      handle.spec.restart === 'on-failure' &&
      handle.restarts < maxRestarts &&
      !(event.reason === 'exit' && event.exitCode === 0);
    if (!restarting) {
      handle.gaveUp();
      handle.link.close(diedError(handle.name, event.reason, event));
    }
    this.#wiring.tellPeers(handle, { ...event, restarting });
    try {
      // Its listeners see the worker as it died (`dead`, its restarts so far).
      this.emit('worker-exit', { ...event, restarting });
    } finally {
      // Even if a listener throws: it must not stop the restart the event announces.
      if (restarting) void this.#restart(handle);
    }
  }

  async #restart(handle: WorkerHandle): Promise<void> {
    const maxRestarts = handle.spec.maxRestarts ?? this.#health.maxRestarts;
    let lastError: unknown;
    this.#backoff.begin(handle);
    while (!this.#closing && handle.restarts < maxRestarts) {
      handle.state = 'restarting';
      handle.restarts++;
      await this.#backoff.wait(handle);
      if (this.#closing) return;
      const started = performance.now();
      try {
        await handle.start();
        if (this.#closing) return;
        // Ready and watched in one step: a death from then on is an ordinary death.
        handle.markReady();
        this.#heartbeat.watch(handle);
      } catch (error) {
        lastError = error;
        handle.child?.kill();
        if (await this.#waitedForHost(handle, error)) handle.restarts--;
        continue;
      }
      // Announced outside the try: a listener that throws must not end the incarnation it hears about.
      // Every incarnation that becomes ready gets its worker-ready; the log keeps a restart as one entry.
      const ready = this.#readyEvent(handle, started);
      this.#deliver('worker-ready', [ready]);
      this.emit('worker-restart', { ...ready, restarts: handle.restarts });
      return;
    }
    if (this.#closing) return;
    handle.state = 'dead';
    handle.gaveUp();
    const error = new WorkerDiedError(
      { worker: handle.name, reason: 'crash' },
      { cause: new Error(`Gave up after ${handle.restarts} restarts`, lastError === undefined ? undefined : { cause: lastError }) },
    );
    handle.link.destroy(error);
    // The last incarnation never became ready: announce the end once, as the terminal exit, with why it
    // gave up (the last start's failure within), as the calls it fails have it.
    const event: WorkerExitEvent = {
      name: handle.name,
      reason: 'crash',
      incarnation: handle.incarnation,
      restarting: false,
      error: error.cause as Error,
    };
    this.#wiring.tellPeers(handle, event);
    this.emit('worker-exit', event);
  }

  /**
   * A start that failed because its host is down (its agent killed or cut off, the NATS server gone) is
   * no failure of the worker's: it spends no restart, and the next start waits for the host to be back,
   * however long that takes (a close ends the wait). True if that was the failure. An agent that refuses
   * this coordinator (another secret or protocol) is no outage: only its operator can mend that, and the
   * refusal counts, so the restarts end with it as their cause.
   */
  async #waitedForHost(handle: WorkerHandle, error: unknown): Promise<boolean> {
    const host = handle.host;
    const hosts = this.#hosts;
    if (host === undefined || !hosts || this.#closing || error instanceof AgentRefusedError) return false;
    if (!(error instanceof HostDownError) && hosts.isUp(host)) return false;
    try {
      await hosts.waitFor([host], MAX_TIMER_MS);
    } catch (waited) {
      if (waited instanceof AgentRefusedError) return false;
    }
    return true;
  }

  #readyEvent(handle: WorkerHandle, started: number): WorkerReadyEvent {
    return {
      name: handle.name,
      incarnation: handle.incarnation,
      kind: handle.kind,
      pid: handle.started?.pid ?? 0,
      threadId: handle.started?.threadId ?? 0,
      startMs: performance.now() - started,
    };
  }

  async #close(): Promise<void> {
    // What the start's listeners have not heard yet, they hear before the cluster closes.
    this.#releaseHeld();
    const closed = new ClusterClosedError();
    const handles = [...this.#handles.values()];
    // New calls fail now, before any wait below; calls already sent may still be answered while each worker
    // is asked to shut down, then whatever is left fails with ERR_CONVOY_CLOSED and the worker is made to exit.
    for (const handle of handles) handle.link.close(closed);
    this.#pool?.refuseNew();
    // A death that happened before close() was called may not have been read yet (a busy coordinator): what
    // is waiting in the event loop is taken in first, and a death reported now is a last one too. Two
    // immediates: the first may run in this turn, before its I/O is polled; the second follows a poll.
    this.#lastDeaths = 'any';
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    // A death under way as close() is called (a hang, a crash, an exit, a kill not awaited) has failed its
    // calls already; its report waits for the exit and last words. It is reported before the close goes
    // on, with no restart: dropped, the calls would have told of a death no worker-exit did.
    const dying = handles.filter((handle) => handle.dying);
    this.#lastDeaths = new Set(dying);
    if (dying.length > 0) {
      await Promise.all(dying.map((handle) => within(handle.deathReported, LAST_DEATH_REPORT_MS)));
      // What would establish a death still unreported later (a host judged down, an exit grace) is done now.
      const hastened = dying.filter((handle) => handle.hastenDeath());
      await Promise.all(hastened.map((handle) => within(handle.deathReported, LAST_DEATH_REPORT_MS)));
    }
    this.#heartbeat.close();
    this.#backoff.cancelAll();
    await Promise.all(handles.map((handle) => shutDownWorker(handle, closed)));
    // Every agent is told goodbye: it ends whatever of ours still runs there, and waits for the next.
    await this.#hosts?.close();
    this.#listener?.close();
    await this.#pool?.close();
    await this.#dashboards.clusterClosed();
  }
}

/** Starts a cluster; resolves once every worker is loaded and connected to every other. */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  if (typeof options !== 'object' || options === null) throw new TypeError('startCluster() expects an options object');
  rejectUnknownKeys(options, CLUSTER_OPTION_KEYS, 'startCluster() options');
  checkPoolAndExpose(options);
  const cluster = new Cluster(options);
  await cluster.start();
  return cluster;
}

/** `pool` and `expose`, checked here rather than where piscina or the first worker's call would trip on them. */
function checkPoolAndExpose({ pool, expose }: ClusterOptions): void {
  if (expose !== undefined && (typeof expose !== 'object' || expose === null)) {
    throw new TypeError(`Expected \`expose\` to be an object of handlers, got ${describe(expose)}`);
  }
  if (pool === undefined) return;
  if (typeof pool !== 'object' || pool === null) throw new TypeError(`Expected \`pool\` to be an object, got ${describe(pool)}`);
  rejectUnknownKeys(pool, POOL_SPEC_KEYS, '`pool`');
  expectModule('pool.module', pool.module);
  const max = pool.maxThreads === undefined ? undefined : expectNumber('pool.maxThreads', pool.maxThreads, { min: 1, integer: true });
  const min = pool.minThreads === undefined ? undefined : expectNumber('pool.minThreads', pool.minThreads, { integer: true });
  if (max !== undefined && min !== undefined && min > max) {
    throw new TypeError(`\`pool.minThreads\` (${min}) is more than \`pool.maxThreads\` (${max})`);
  }
}
