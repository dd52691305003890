/**
 * The coordinator's side of agents: one NATS connection (with the user's credentials), a session of
 * its own, the challenge–response with each agent that announces itself, the hosts that are up, and
 * heartbeats both ways. A host silent past `heartbeatTimeoutMs`, one whose agent leaves, and every host
 * when this connection is lost, goes down: its workers count as exited at once (`RemoteChild`). Agents
 * that come back are joined again.
 *
 * The session's worker transports share the connection through `hub`, scoped to this session.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Events, type Msg, type NatsConnection, type Subscription } from 'nats';
import { AgentRefusedError, HostDownError } from '../agent/errors.js';
import { isSubjectName } from '../transport/nats-wire.js';
import {
  AGENT_PROTOCOL_VERSION,
  type Announce,
  type Join,
  type Joined,
  type Refused,
  type RemoteSpawn,
  type ToCoordinator,
  agentSubject,
  announceSubject,
  discoverSubject,
  sessionScope,
  sessionSubjects,
} from '../agent/protocol.js';
import { Sealer, joinProof, joinedProof, leftProof, sameBytes, sessionSecret } from '../agent/seal.js';
import { readSecret } from '../agent/secret.js';
import { namedError } from '../named-error.js';
import { Decoder, Encoder } from '../protocol/codec.js';
import type { Bootstrap } from '../protocol/control.js';
import { connectNats, subscribeGuarded } from '../transport/nats-connect.js';
import { NatsHub } from '../transport/nats-hub.js';
import { HostEntry, type HostInfo } from './host-entry.js';
import type { HostDownEvent, HostUpEvent, NatsClusterOptions } from './nats-options.js';
import type { RemoteChild } from './remote-child.js';

export interface HostsHealth {
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
}

export interface HostsEvents {
  'host-up': [event: HostUpEvent];
  'host-down': [event: HostDownEvent];
  /** An agent and this coordinator did not accept each other (a wrong secret on one side). */
  refused: [error: AgentRefusedError];
}

const NONCE_BYTES = 16;
const MAX_PENDING_JOINS = 8;
/** Hosts with joins out at once: anyone can announce any name, and each must not cost memory for good. */
const MAX_JOINING_HOSTS = 256;
/**
 * How long an agent's refusal waits before it fails whoever waits for the host: unsigned, it may be forged
 * by anyone on the server, racing the agent's real answer, which comes within milliseconds.
 */
const REFUSAL_CONFIRM_MS = 500;

export class Hosts extends EventEmitter<HostsEvents> {
  readonly cluster: string;
  /** This coordinator's session: agents serve one at a time, and worker transports are scoped to it. */
  readonly session = randomBytes(8).toString('hex');
  readonly hub: NatsHub;
  readonly #connection: NatsConnection;
  readonly #secret: Uint8Array;
  readonly #workerSecret: Uint8Array;
  readonly #health: HostsHealth;
  readonly #encoder = new Encoder();
  readonly #decoder = new Decoder();
  readonly #hosts = new Map<string, HostEntry>();
  /**
   * Joins sent and not answered, by host, then by our nonce (hex): the agent's nonce each answered.
   * An agent announces itself until joined, so several joins may be out before the first answer.
   */
  readonly #joining = new Map<string, Map<string, Uint8Array>>();
  /** Why an agent is not joining, for the error of someone waiting for it. */
  readonly #refusals = new Map<string, AgentRefusedError>();
  /** Refusals waiting out REFUSAL_CONFIRM_MS, by host. */
  readonly #unconfirmed = new Map<string, NodeJS.Timeout>();
  /** Hosts whose agent announced itself busy (serving another coordinator): said if the wait for one times out. */
  readonly #busy = new Set<string>();
  /**
   * Hosts someone waits for, with how many waits: only theirs are refusals and busy announces kept for
   * (unsigned, they may name any host).
   */
  readonly #awaited = new Map<string, number>();
  readonly #subscriptions: Subscription[] = [];
  /** Whoever waits for hosts to come up (a start, a restart): told at close. */
  readonly #waiters = new Set<() => void>();
  #timer: NodeJS.Timeout | undefined;
  #lastTick = performance.now();
  #closed = false;

  /** Connects with the user's options, reads the secret file, and starts looking for agents. */
  static async connect(options: NatsClusterOptions, health: HostsHealth): Promise<Hosts> {
    const secret = await readSecret(options.secretFile).catch((error: unknown) => {
      throw namedError(`\`nats.secretFile\` '${options.secretFile}'`, error);
    });
    const connection = await connectNats(options, 'convoy coordinator');
    const hosts = new Hosts(connection, secret, options.cluster ?? 'convoy', health);
    hosts.start();
    return hosts;
  }

  constructor(connection: NatsConnection, secret: Uint8Array, cluster: string, health: HostsHealth) {
    super();
    this.#connection = connection;
    this.#secret = secret;
    this.cluster = cluster;
    this.#health = health;
    const scope = sessionScope(cluster, this.session);
    this.#workerSecret = sessionSecret(secret, scope);
    this.hub = new NatsHub(connection, { cluster: scope, secret: this.#workerSecret });
  }

  /**
   * This session's secret (seal.ts `sessionSecret`), not the cluster's: what every NATS channel message of
   * the session is signed with, and what the coordinator's own workers get to sign theirs.
   */
  get workerSecret(): Uint8Array {
    return this.#workerSecret;
  }

  start(): void {
    const on = (subject: string, handle: (message: Msg) => void): void => {
      this.#subscriptions.push(
        subscribeGuarded(this.#connection, subject, handle, (error, message) =>
          process.emitWarning(`convoy: a NATS message on ${message.subject} could not be handled: ${error.message}`, 'ConvoyNatsWarning'),
        ),
      );
    };
    on(announceSubject(this.cluster), (message) => this.#announced(message.data));
    on(sessionSubjects(this.cluster, this.session), (message) => this.#receive(message));
    this.#timer = setInterval(() => this.#tick(), this.#health.heartbeatIntervalMs).unref();
    void this.#watchConnection();
    this.#connection.publish(discoverSubject(this.cluster));
  }

  /** Every host that has joined this session, up or down. */
  list(): HostInfo[] {
    return [...this.#hosts.values()].map((host) => host.info());
  }

  isUp(name: string): boolean {
    return this.#hosts.get(name)?.up ?? false;
  }

  /** The host named `name`, as last joined (up or down). */
  entry(name: string): HostEntry | undefined {
    return this.#hosts.get(name);
  }

  /**
   * Takes `name` down now if its agent has not been heard for two beats: a worker there that went
   * silent went with its host (an agent killed or cut off), and is lost with it rather than hung.
   */
  downIfSilent(name: string): boolean {
    const host = this.#hosts.get(name);
    if (!host?.up || performance.now() - host.lastHeard <= this.#health.heartbeatIntervalMs * 2) return false;
    this.#down(host, `its agent was silent for ${Math.round(performance.now() - host.lastHeard)} ms`);
    return true;
  }

  /** Resolves once every host in `names` is up; rejects at a refusal, after `timeoutMs`, or at close. */
  waitFor(names: readonly string[], timeoutMs: number): Promise<void> {
    const missing = (): string[] => names.filter((name) => !this.isUp(name));
    if (missing().length === 0) return Promise.resolve();
    if (this.#closed) return Promise.reject(new HostDownError(missing()[0]!, 'The cluster is closed'));
    for (const name of names) this.#awaited.set(name, (this.#awaited.get(name) ?? 0) + 1);
    return new Promise((resolve, reject) => {
      const done = (error?: Error): void => {
        clearTimeout(timer);
        for (const name of names) {
          const left = (this.#awaited.get(name) ?? 1) - 1;
          if (left > 0) this.#awaited.set(name, left);
          else this.#awaited.delete(name);
        }
        this.#waiters.delete(closed);
        this.off('host-up', check);
        this.off('refused', refused);
        if (error) reject(error);
        else resolve();
      };
      const closed = (): void => done(new HostDownError(missing()[0]!, `Host "${missing()[0]}": the cluster closed while waiting for it`));
      this.#waiters.add(closed);
      const check = (): void => {
        if (missing().length === 0) done();
      };
      const refused = (error: AgentRefusedError): void => {
        if (names.includes(error.host)) done(error);
      };
      const timer = setTimeout(() => {
        const [first] = missing();
        const why =
          this.#refusals.get(first!)?.message ??
          (this.#busy.has(first!) ? `agent "${first}" is serving another coordinator` : 'no agent of that name announced itself');
        done(
          new HostDownError(first!, `Host${missing().length > 1 ? 's' : ''} ${missing().join(', ')} not up within ${timeoutMs} ms: ${why}`),
        );
      }, timeoutMs);
      this.on('host-up', check);
      this.on('refused', refused);
    });
  }

  /** Starts a worker on `host`'s agent. `boot.module` is resolved there, against the agent's `--cwd`. */
  spawn(host: string, boot: Bootstrap, spawn: RemoteSpawn): Promise<RemoteChild> {
    const entry = this.#hosts.get(host);
    if (!entry) return Promise.reject(new HostDownError(host, `Host "${host}" has not joined the cluster`));
    return entry.spawn(boot, spawn);
  }

  /** Says goodbye to every agent (they end our workers and wait for the next coordinator), then disconnects. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    for (const timer of this.#unconfirmed.values()) clearTimeout(timer);
    this.#unconfirmed.clear();
    for (const closed of [...this.#waiters]) closed();
    for (const host of this.#hosts.values()) {
      if (host.up) host.send({ t: 'goodbye', reason: 'the cluster is closing' });
      host.down('the cluster closed');
    }
    await this.hub.close();
  }

  #announced(bytes: Uint8Array): void {
    const announce = this.#decode(bytes) as Partial<Announce> | undefined;
    // Unsigned, from anyone: a name no agent can have (no subject can be made of it) is dropped here.
    if (this.#closed || announce?.t !== 'announce' || !isSubjectName(announce.host) || !(announce.nonce instanceof Uint8Array)) return;
    const known = this.#hosts.get(announce.host);
    // An agent we count as up that announces itself idle, with the proof that it left the session it joined
    // us with, has ended our session (it lost its connection, say). Anyone can publish an announce: one
    // without that proof (forged, replayed, or another agent of the same name) changes nothing.
    if (known?.up && !announce.busy && this.#leftUs(known, announce)) this.#down(known, 'its agent left the session');
    if (this.#hosts.get(announce.host)?.up) return;
    if (announce.busy) {
      if (this.#awaited.has(announce.host)) this.#busy.add(announce.host);
      return;
    }
    this.#busy.delete(announce.host);
    const nonce = randomBytes(NONCE_BYTES);
    let joins = this.#joining.get(announce.host);
    if (!joins) {
      if (this.#joining.size >= MAX_JOINING_HOSTS) this.#joining.delete(this.#joining.keys().next().value!);
      joins = new Map<string, Uint8Array>();
      this.#joining.set(announce.host, joins);
    }
    // Bounded: an agent that never answers must not make this grow.
    if (joins.size >= MAX_PENDING_JOINS) joins.delete(joins.keys().next().value!);
    joins.set(Buffer.from(nonce).toString('hex'), announce.nonce);
    const { heartbeatIntervalMs, heartbeatTimeoutMs } = this.#health;
    const join: Join = {
      t: 'join',
      v: AGENT_PROTOCOL_VERSION,
      session: this.session,
      nonce,
      agentNonce: announce.nonce,
      proof: joinProof(this.#secret, announce.host, this.session, announce.nonce, nonce),
      heartbeatIntervalMs,
      heartbeatTimeoutMs,
    };
    this.#connection.publish(agentSubject(this.cluster, announce.host), this.#encoder.encode(join));
  }

  /** Whether `announce` proves that `host`'s agent left the session it joined this coordinator with. */
  #leftUs(host: HostEntry, announce: Partial<Announce>): boolean {
    const { left, nonce, proof } = announce;
    if (!(left instanceof Uint8Array) || !(nonce instanceof Uint8Array) || !sameBytes(left, host.agentNonce)) return false;
    return sameBytes(proof, leftProof(this.#secret, host.name, left, nonce));
  }

  #receive(message: Msg): void {
    if (this.#closed) return;
    const decoded = this.#decode(message.data);
    const host = this.#hosts.get(message.subject.slice(message.subject.lastIndexOf('.') + 1).replaceAll('~', '.'));
    if (Array.isArray(decoded)) {
      if (!host?.up) return;
      let sealed: ToCoordinator;
      try {
        sealed = host.sealer.open<ToCoordinator>(message.data);
      } catch {
        return;
      }
      if (sealed.t === 'goodbye') this.#down(host, `its agent left: ${sealed.reason}`);
      else host.receive(sealed);
      return;
    }
    const reply = decoded as Partial<Joined> | Partial<Refused> | undefined;
    if (!isSubjectName(reply?.host)) return;
    if (reply?.t === 'joined') this.#joined(reply as Joined);
    else if (reply?.t === 'refused')
      this.#refusedByAgent(reply.host, `agent "${reply.host}" refused this coordinator: ${String(reply.reason)}`);
  }

  /**
   * An agent's refusal (a wrong secret, another protocol version) is unsigned, so it is taken only if the
   * host does not join within REFUSAL_CONFIRM_MS: a forged one then loses its race with the real answer.
   */
  #refusedByAgent(host: string, reason: string): void {
    if (this.#hosts.get(host)?.up || !this.#awaited.has(host)) return;
    this.#refusals.set(host, new AgentRefusedError(host, reason));
    if (this.#unconfirmed.has(host)) return;
    const timer = setTimeout(() => {
      this.#unconfirmed.delete(host);
      const refusal = this.#refusals.get(host);
      if (refusal && !this.#hosts.get(host)?.up) this.emit('refused', refusal);
    }, REFUSAL_CONFIRM_MS);
    this.#unconfirmed.set(host, timer);
  }

  #joined(joined: Joined): void {
    const nonce = joined.nonce;
    const agentNonce = nonce instanceof Uint8Array ? this.#joining.get(joined.host)?.get(Buffer.from(nonce).toString('hex')) : undefined;
    if (!agentNonce || this.#hosts.get(joined.host)?.up) return;
    // An agent answers a join only once it has checked our proof of the secret, so a real answer always
    // proves it back: one that does not is forged, and the joins it names are still owed their answers.
    if (!sameBytes(joined.proof, joinedProof(this.#secret, joined.host, this.session, nonce, agentNonce))) return;
    this.#joining.delete(joined.host);
    const sealer = new Sealer(this.#secret, 'coordinator', joined.host, this.session, nonce, agentNonce);
    const subject = agentSubject(this.cluster, joined.host);
    const host = new HostEntry(
      joined.host,
      Number(joined.pid),
      agentNonce,
      sealer,
      (bytes) => this.#connection.isClosed() || this.#connection.publish(subject, bytes),
    );
    this.#hosts.set(joined.host, host);
    this.#refusals.delete(joined.host);
    clearTimeout(this.#unconfirmed.get(joined.host));
    this.#unconfirmed.delete(joined.host);
    this.#busy.delete(joined.host);
    this.emit('host-up', { name: host.name, pid: host.pid });
  }

  #down(host: HostEntry, reason: string): void {
    if (host.down(reason)) this.emit('host-down', { name: host.name, reason });
  }

  #tick(): void {
    const now = performance.now();
    const { heartbeatIntervalMs, heartbeatTimeoutMs } = this.#health;
    // A late tick means this process was stalled: the agents' beats may be waiting unread.
    const stalled = now - this.#lastTick > heartbeatIntervalMs * 2;
    this.#lastTick = now;
    for (const host of this.#hosts.values()) {
      if (!host.up) continue;
      if (stalled) host.lastHeard = Math.max(host.lastHeard, now - heartbeatIntervalMs);
      else if (now - host.lastHeard > heartbeatTimeoutMs) {
        // Told, in case it is only slow: when it reads this it ends our workers and waits for the next.
        host.send({ t: 'goodbye', reason: `silent for ${heartbeatTimeoutMs} ms` });
        this.#down(host, `its agent was silent for ${heartbeatTimeoutMs} ms`);
        continue;
      }
      host.send({ t: 'beat' });
    }
  }

  async #watchConnection(): Promise<void> {
    for await (const status of this.#connection.status()) {
      if (status.type === Events.Disconnect) {
        for (const host of this.#hosts.values()) this.#down(host, 'the coordinator lost its NATS connection');
      } else if (status.type === Events.Reconnect) {
        // Agents whose own connection held still serve the old session: end it, then join them anew.
        for (const host of this.#hosts.values()) host.send({ t: 'goodbye', reason: 'the coordinator lost its NATS connection' });
        this.#connection.publish(discoverSubject(this.cluster));
      }
    }
  }

  #decode(bytes: Uint8Array): unknown {
    try {
      return this.#decoder.decode(bytes);
    } catch {
      return undefined;
    }
  }
}
