/**
 * The agent: one per extra host. It joins the cluster named `cluster` on a NATS server, proves the
 * shared secret to a coordinator (and has it prove the secret back), then starts and stops the workers
 * that coordinator places here. It serves one coordinator at a time and outlives it: when the session
 * ends — goodbye, silence, a lost connection — its workers are ended and the agent announces itself for
 * the next one.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Events, type Msg, type NatsConnection, type Subscription } from 'nats';
import { Decoder, Encoder } from '../protocol/codec.js';
import type { NatsConnectOptions } from '../cluster/nats-options.js';
import { AgentSession } from './agent-session.js';
import { AgentRefusedError } from './errors.js';
import {
  AGENT_PROTOCOL_VERSION,
  type Announce,
  type Join,
  type Joined,
  type Refused,
  agentSubject,
  announceSubject,
  discoverSubject,
  sessionSubject,
} from './protocol.js';
import { Sealer, joinProof, joinedProof, leftProof, sameBytes } from './seal.js';
import { subscribeGuarded } from '../transport/nats-connect.js';
import { isSubjectName } from '../transport/nats-wire.js';

export interface AgentOptions {
  /** The agent's own connection; it stays the caller's to close. */
  connection: NatsConnection;
  /** The options that connection was made with: workers started here connect with them too. */
  connect: NatsConnectOptions;
  /** @default 'convoy' */
  cluster?: string;
  /** This host's name, as `WorkerSpec.host` names it. */
  host: string;
  secret: Uint8Array;
  /** Where worker modules are resolved. @default process.cwd() */
  cwd?: string;
  /** How often an idle agent announces itself. @default 1000 */
  announceIntervalMs?: number;
  /** Progress and refusals, one line each. @default none */
  log?: (line: string) => void;
}

export interface AgentEvents {
  joined: [session: string];
  /** A session ended (its workers are gone). */
  left: [session: string, reason: string];
  /** A coordinator and this agent did not accept each other. */
  refused: [error: AgentRefusedError];
}

const NONCE_BYTES = 16;

export class Agent extends EventEmitter<AgentEvents> {
  readonly host: string;
  readonly cluster: string;
  readonly #options: AgentOptions;
  readonly #connection: NatsConnection;
  readonly #encoder = new Encoder();
  readonly #decoder = new Decoder();
  readonly #subscriptions: Subscription[] = [];
  #session: AgentSession | undefined;
  /** The nonce of this idle period: a join must answer it, so an old join cannot be replayed. */
  #nonce = randomBytes(NONCE_BYTES);
  /** The agent nonce of the session this agent last left, until it joins another (see Announce.left). */
  #left: Uint8Array | undefined;
  #announcer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: AgentOptions) {
    super();
    this.#options = options;
    this.#connection = options.connection;
    this.host = options.host;
    this.cluster = options.cluster ?? 'convoy';
  }

  /** The session being served, if any. */
  get session(): string | undefined {
    return this.#session?.id;
  }

  start(): void {
    const on = (subject: string, handle: (message: Msg) => void): void => {
      this.#subscriptions.push(
        subscribeGuarded(this.#connection, subject, handle, (error, message) =>
          this.#log(`a message on ${message.subject} could not be handled: ${error.message}`),
        ),
      );
    };
    on(agentSubject(this.cluster, this.host), (message) => this.#receive(message.data));
    on(discoverSubject(this.cluster), () => this.#announce());
    this.#announcer = setInterval(() => this.#session || this.#announce(), this.#options.announceIntervalMs ?? 1000);
    void this.#watchConnection();
    this.#announce();
    this.#log(`waiting for a coordinator of cluster "${this.cluster}"`);
  }

  /** Ends the session being served (its workers too) and stops announcing. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#announcer);
    for (const subscription of this.#subscriptions) if (!this.#connection.isClosed()) subscription.unsubscribe();
    await this.#session?.end('the agent is shutting down');
  }

  #announce(): void {
    if (this.#closed || this.#connection.isClosed()) return;
    const busy = this.#session !== undefined;
    const announce: Announce = { t: 'announce', v: AGENT_PROTOCOL_VERSION, host: this.host, nonce: this.#nonce, busy };
    if (!busy && this.#left) {
      announce.left = this.#left;
      announce.proof = leftProof(this.#options.secret, this.host, this.#left, this.#nonce);
    }
    this.#connection.publish(announceSubject(this.cluster), this.#encoder.encode(announce));
  }

  #receive(bytes: Uint8Array): void {
    if (this.#closed) return;
    let message: unknown;
    try {
      message = this.#decoder.decode(bytes);
    } catch {
      return;
    }
    // Nothing else is taken: a `refused` to an agent could only be forged (an agent answers a join only
    // once the coordinator proved the secret, so the coordinator never has cause to refuse it).
    if (Array.isArray(message)) this.#session?.receive(bytes);
    else if ((message as Join)?.t === 'join') this.#join(message as Join);
  }

  #join(join: Join): void {
    // Unsigned until its proof is checked, from anyone: a session no subject can be made of is dropped.
    if (!isSubjectName(join.session) || join.session === this.#session?.id) return;
    const refusal = this.#refusal(join);
    if (refusal === null) return;
    if (refusal) {
      const refused: Refused = { t: 'refused', host: this.host, session: String(join.session), reason: refusal };
      this.#connection.publish(sessionSubject(this.cluster, String(join.session), this.host), this.#encoder.encode(refused));
      this.#refused(refusal);
      return;
    }
    const { secret } = this.#options;
    const joined: Joined = {
      t: 'joined',
      host: this.host,
      nonce: join.nonce,
      pid: process.pid,
      proof: joinedProof(secret, this.host, join.session, join.nonce, this.#nonce),
    };
    const agentNonce = this.#nonce;
    this.#left = undefined;
    this.#session = new AgentSession({
      connection: this.#connection,
      connect: this.#options.connect,
      cluster: this.cluster,
      host: this.host,
      secret,
      cwd: this.#options.cwd ?? process.cwd(),
      join,
      sealer: new Sealer(secret, 'agent', this.host, join.session, join.nonce, agentNonce),
      onEnd: (reason) => this.#ended(join.session, agentNonce, reason),
    });
    this.#connection.publish(sessionSubject(this.cluster, join.session, this.host), this.#encoder.encode(joined));
    this.#log(`joined coordinator session ${join.session}`);
    this.emit('joined', join.session);
  }

  /** Why `join` is refused; undefined if it is accepted, null if it answers no announce of this idle period (stale). */
  #refusal(join: Join): string | undefined | null {
    if (join.v !== AGENT_PROTOCOL_VERSION) return `agent protocol version ${AGENT_PROTOCOL_VERSION}, coordinator ${String(join.v)}`;
    if (this.#session) return `agent "${this.host}" is serving another coordinator`;
    if (typeof join.session !== 'string' || !(join.nonce instanceof Uint8Array) || !sameBytes(join.agentNonce, this.#nonce)) return null;
    if (!sameBytes(join.proof, joinProof(this.#options.secret, this.host, join.session, this.#nonce, join.nonce))) {
      return `the coordinator failed to prove the cluster secret to agent "${this.host}" (is the secret file the same on both?)`;
    }
    return undefined;
  }

  #refused(reason: string): void {
    this.#log(`refused: ${reason}`);
    this.emit('refused', new AgentRefusedError(this.host, reason));
  }

  #ended(session: string, agentNonce: Uint8Array, reason: string): void {
    if (this.#session?.id === session) this.#session = undefined;
    this.#left = agentNonce;
    this.#nonce = randomBytes(NONCE_BYTES);
    this.#log(`session ${session} ended: ${reason}`);
    this.emit('left', session, reason);
    this.#announce();
  }

  async #watchConnection(): Promise<void> {
    for await (const status of this.#connection.status()) {
      if (status.type === Events.Disconnect) void this.#session?.end('the NATS connection was lost', false);
      else if (status.type === Events.Reconnect) this.#announce();
    }
  }

  #log(line: string): void {
    this.#options.log?.(`convoy agent "${this.host}": ${line}`);
  }
}
