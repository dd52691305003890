/**
 * One coordinator's session on an agent: the workers it had started here, heartbeats both ways, and
 * the end — a goodbye from the coordinator, its silence past the heartbeat timeout, the agent's own
 * connection lost, or the agent closing — which always ends every worker it started.
 */
import { MessageChannel } from 'node:worker_threads';
import type { NatsConnection } from 'nats';
import { moduleUrl } from '../cluster/paths.js';
import type { ExitInfo } from '../cluster/spawn.js';
import { toError } from '../errors.js';
import type { NatsConnectOptions } from '../cluster/nats-options.js';
import {
  COORDINATOR_ENDPOINT,
  type Join,
  type ToAgent,
  type ToCoordinator,
  sessionScope,
  sessionSubject,
  workerEndpoint,
} from './protocol.js';
import { type Sealer, sessionSecret } from './seal.js';
import { type LocalWorker, spawnWorker } from './spawn-worker.js';

/** How long ending a session waits for its workers to exit after they were killed. */
const EXIT_WAIT_MS = 5000;

export interface SessionConfig {
  connection: NatsConnection;
  /** What workers started here use to reach NATS (the agent's own options). */
  connect: NatsConnectOptions;
  cluster: string;
  host: string;
  secret: Uint8Array;
  cwd: string;
  join: Join;
  sealer: Sealer;
  /** Called once when the session has ended and its workers are gone. */
  onEnd(reason: string): void;
}

export class AgentSession {
  readonly id: string;
  readonly #config: SessionConfig;
  readonly #subject: string;
  readonly #workers = new Map<number, LocalWorker>();
  readonly #timer: NodeJS.Timeout;
  #lastHeard = performance.now();
  #lastTick = performance.now();
  #ended = false;

  constructor(config: SessionConfig) {
    this.#config = config;
    this.id = config.join.session;
    this.#subject = sessionSubject(config.cluster, this.id, config.host);
    const { heartbeatIntervalMs } = config.join;
    this.#timer = setInterval(() => this.#tick(), heartbeatIntervalMs);
  }

  get workers(): number {
    return this.#workers.size;
  }

  /** A sealed message for this session. Anything not sealed by its coordinator is refused. */
  receive(bytes: Uint8Array): void {
    if (this.#ended) return;
    let message: ToAgent;
    try {
      message = this.#config.sealer.open<ToAgent>(bytes);
    } catch {
      // Forged or replayed: not from our coordinator, so it is no sign of its life either.
      return;
    }
    this.#lastHeard = performance.now();
    switch (message.t) {
      case 'spawn':
        this.#spawn(message);
        return;
      case 'kill':
        this.#workers.get(message.id)?.kill();
        return;
      case 'pair':
        this.#pair(message);
        return;
      case 'goodbye':
        void this.end(`the coordinator said goodbye (${message.reason})`, false);
        return;
    }
  }

  /** Ends every worker, tells the coordinator unless it is the one that left, then reports the end. */
  async end(reason: string, tell = true): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    clearInterval(this.#timer);
    if (tell) this.#send({ t: 'goodbye', reason });
    const exits = [...this.#workers.values()].map((worker) => {
      worker.kill();
      return worker.exited;
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(exits), new Promise((resolve) => (timer = setTimeout(resolve, EXIT_WAIT_MS)))]);
    clearTimeout(timer);
    this.#workers.clear();
    this.#config.onEnd(reason);
  }

  #spawn({ id, boot, spawn }: Extract<ToAgent, { t: 'spawn' }>): void {
    const { connect, cluster, cwd } = this.#config;
    const scope = sessionScope(cluster, this.id);
    // Its workers run user code: they get this session's secret, never the cluster's (seal.ts).
    const secret = sessionSecret(this.#config.secret, scope);
    let worker: LocalWorker;
    try {
      // The module as the coordinator's user wrote it (a path or a URL), as a file URL on this host.
      const local = { ...boot, module: moduleUrl(boot.module, cwd) };
      const nats = {
        connect,
        scope,
        secret,
        self: workerEndpoint(boot.name, boot.incarnation),
        coordinator: COORDINATOR_ENDPOINT,
      };
      worker = spawnWorker(local, spawn, secret, nats);
    } catch (error) {
      this.#send({ t: 'spawn-failed', id, message: toError(error).message });
      return;
    }
    this.#workers.set(id, worker);
    this.#send({ t: 'spawned', id, pid: worker.pid, threadId: worker.threadId });
    void worker.exited.then((exit: ExitInfo) => {
      this.#workers.delete(id);
      if (this.#ended) return;
      const report: ToCoordinator = { t: 'exited', id, crashed: exit.crashed };
      if (exit.exitCode !== undefined) report.exitCode = exit.exitCode;
      if (exit.signal !== undefined) report.signal = exit.signal;
      if (exit.error) report.message = exit.error.message;
      this.#send(report);
    });
  }

  /**
   * Two threads of this agent need a channel: one MessageChannel, a port to each, as the coordinator
   * does for its own threads. If either has exited, the other hears of it from the coordinator instead.
   */
  #pair({ pair, ends: [a, b] }: Extract<ToAgent, { t: 'pair' }>): void {
    const first = this.#workers.get(a.id);
    const second = this.#workers.get(b.id);
    if (!first?.handOff || !second?.handOff) return;
    const { port1, port2 } = new MessageChannel();
    first.handOff({ convoy: 'peer-port', peer: b.name, incarnation: b.incarnation, pair, port: port1 });
    second.handOff({ convoy: 'peer-port', peer: a.name, incarnation: a.incarnation, pair, port: port2 });
  }

  #tick(): void {
    const now = performance.now();
    const { heartbeatIntervalMs, heartbeatTimeoutMs } = this.#config.join;
    // A late tick means this agent was stalled itself: the coordinator's beats may be waiting unread.
    if (now - this.#lastTick > heartbeatIntervalMs * 2) this.#lastHeard = Math.max(this.#lastHeard, now - heartbeatIntervalMs);
    this.#lastTick = now;
    if (now - this.#lastHeard > heartbeatTimeoutMs) {
      void this.end(`the coordinator was silent for ${heartbeatTimeoutMs} ms`);
      return;
    }
    this.#send({ t: 'beat' });
  }

  #send(message: ToCoordinator): void {
    const { connection, sealer } = this.#config;
    if (!connection.isClosed()) connection.publish(this.#subject, sealer.seal(message));
  }
}
