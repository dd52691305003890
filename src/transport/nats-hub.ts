/**
 * One NATS connection shared by every NATS transport of a process (or thread): one subscription per
 * transport, on the exact subject of its inbound direction (`convoy.<scope>.w.<local>.<remote>`: the
 * client then dispatches by subscription id; one wildcard subscription per endpoint would make it decode
 * each message's subject to find the transport); room in the connection's outbound buffer for all of them; and the connection's losses. When the connection drops, every transport breaks at once (frames may have
 * been lost with the server, and the numbering could not tell a lost tail), and once it is back the
 * peers of those transports are told with a reset. Every message is signed and checked here, under a
 * key per subject derived from the cluster secret (nats-wire.ts): one that fails the check is dropped.
 */
import { randomInt } from 'node:crypto';
import type { Socket } from 'node:net';
import { Events, type Msg, type NatsConnection, type NatsError, type Subscription } from 'nats';
import { ProtocolError, toError } from '../errors.js';
import { closeNats } from './nats-connect.js';
import { NatsTransport, type NatsTransportOptions } from './nats.js';
import { decodeWire, encodeReset, sign, subjectKey, transportSubject, verified } from './nats-wire.js';

export interface NatsHubOptions {
  /** The cluster's name: its subjects never meet another cluster's on the same server. */
  cluster: string;
  /** The session's secret (agent/seal.ts `sessionSecret`): what the transports' messages are signed and checked with. */
  secret: Uint8Array;
  /** Bytes the connection may hold unsent before transports wait for room. @default 8388608 (8 MiB) */
  maxPendingBytes?: number;
}

const DEFAULT_MAX_PENDING_BYTES = 8 << 20;
/** The server's default, until its info arrives. */
const DEFAULT_MAX_PAYLOAD_BYTES = 1 << 20;

interface ClientInternals {
  protocol?: { outbound?: { size(): number }; transport?: { socket?: Socket }; flushPending?(): void };
}

export class NatsHub {
  readonly connection: NatsConnection;
  readonly cluster: string;
  readonly #maxPendingBytes: number;
  readonly #secret: Uint8Array;
  /** Transports by the subject their frames arrive on, with its subscription and that subject's key. */
  readonly #routes = new Map<string, { transport: NatsTransport; subscription: Subscription; key: Buffer }>();
  /** The keys of the subjects the open transports publish on. */
  readonly #sendKeys = new Map<string, Buffer>();
  /** Messages dropped because their tag was wrong: not from a holder of the secret. */
  forged = 0;
  readonly #waiting = new Set<NatsTransport>();
  #wakeArmed = false;
  /** Streams broken by a lost connection, whose peers hear a reset once it is back. */
  #lost: { subject: string; stream: number; how: string }[] = [];
  #stream = randomInt(1, 0xffff_ffff);
  #closed = false;

  constructor(connection: NatsConnection, options: NatsHubOptions) {
    this.connection = connection;
    this.cluster = options.cluster;
    this.#secret = options.secret;
    this.#maxPendingBytes = options.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES;
    void this.#watch();
  }

  /** The largest message the connected server takes (its `max_payload`). */
  get maxPayloadBytes(): number {
    return this.connection.info?.max_payload ?? DEFAULT_MAX_PAYLOAD_BYTES;
  }

  /**
   * A transport between endpoint `local` (served by this connection) and `remote`, which must open its
   * own transport towards `local`; frames wait until both are bound.
   */
  open(local: string, remote: string, options: NatsTransportOptions): NatsTransport {
    if (this.#closed || this.connection.isClosed()) throw new ProtocolError('The NATS connection is closed');
    const inbound = transportSubject(this.cluster, local, remote);
    if (this.#routes.has(inbound)) throw new Error(`A NATS transport from "${remote}" to "${local}" is already open`);
    this.#stream = (this.#stream + 1) >>> 0 || 1;
    const transport = new NatsTransport(this, {
      local,
      remote,
      stream: this.#stream,
      subject: transportSubject(this.cluster, remote, local),
      ...options,
    });
    // Subscribed before its open is published: the server takes the two in that order.
    const key = subjectKey(this.#secret, inbound);
    const subscription = this.connection.subscribe(inbound, {
      callback: (error, message) => this.#receive(transport, key, error, message),
    });
    this.#routes.set(inbound, { transport, subscription, key });
    this.#sendKeys.set(transport.subject, subjectKey(this.#secret, transport.subject));
    transport.announce();
    return transport;
  }

  /** Signs and publishes one message made by encodeWire. */
  publish(subject: string, data: Uint8Array): void {
    sign(this.#sendKeys.get(subject) ?? subjectKey(this.#secret, subject), data);
    this.connection.publish(subject, data);
  }

  /** Whether the connection's unsent bytes are under `maxPendingBytes`. */
  hasRoom(): boolean {
    return this.#pendingBytes() < this.#maxPendingBytes;
  }

  /** Calls `transport.pump()` once the connection has room again. */
  waitForRoom(transport: NatsTransport): void {
    this.#waiting.add(transport);
    if (this.#wakeArmed) return;
    this.#wakeArmed = true;
    const socket = this.#socket();
    // The client flushes its own buffer into the socket within a turn; past that, what is unsent is
    // the socket's, and it says when it has drained.
    if (socket?.writableNeedDrain) socket.once('drain', this.#wake);
    else setImmediate(this.#wake);
  }

  /**
   * Hands what the client holds unsent to the socket now. The client writes on a later microtask, which
   * an exiting thread or process never reaches: its last frames would stay behind.
   */
  flushNow(): void {
    (this.connection as unknown as ClientInternals).protocol?.flushPending?.();
  }

  /** A transport has ended: its subject and subscription are free. */
  release(transport: NatsTransport, local: string, remote: string): void {
    const inbound = transportSubject(this.cluster, local, remote);
    const route = this.#routes.get(inbound);
    if (route?.transport !== transport) return;
    this.#routes.delete(inbound);
    this.#sendKeys.delete(transport.subject);
    this.#waiting.delete(transport);
    if (!this.connection.isClosed()) route.subscription.unsubscribe();
  }

  /** Destroys every transport with `error` (they tell their peers), and closes the connection. */
  async close(error = new ProtocolError('The NATS connection was closed')): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const { transport } of [...this.#routes.values()]) transport.destroy(error);
    await closeNats(this.connection);
  }

  readonly #wake = (): void => {
    this.#wakeArmed = false;
    const waiting = [...this.#waiting];
    this.#waiting.clear();
    for (const transport of waiting) transport.pump();
  };

  #receive(transport: NatsTransport, key: Buffer, error: NatsError | null, message: Msg): void {
    if (error) return;
    const data = verified(key, message.data);
    if (!data) {
      // Not from the peer: anyone on the server may publish here. Dropped unread, it cannot break the pair.
      this.forged++;
      return;
    }
    // The NATS client calls this unguarded: a throw would end its reader, and every transport with it.
    try {
      transport.receive(decodeWire(data));
    } catch (failure) {
      transport.destroy(toError(failure));
    }
  }

  async #watch(): Promise<void> {
    const closed = this.connection.closed().then(() => this.#loseAll('closed'));
    for await (const status of this.connection.status()) {
      if (status.type === Events.Disconnect) this.#loseAll(`lost (${String(status.data)})`);
      else if (status.type === Events.Reconnect) this.#resetLost();
    }
    await closed;
  }

  #loseAll(how: string): void {
    for (const { transport } of [...this.#routes.values()]) {
      if (transport.lose(new ProtocolError(`The NATS connection was ${how}`))) {
        this.#lost.push({ subject: transport.subject, stream: transport.stream, how });
      }
    }
    this.#waiting.clear();
  }

  #resetLost(): void {
    const lost = this.#lost;
    this.#lost = [];
    for (const { subject, stream, how } of lost) this.publish(subject, encodeReset(stream, `its NATS connection was ${how}`));
  }

  #socket(): Socket | undefined {
    // The nats client does not expose its socket or its outbound buffer; both are read here only, to
    // tell when publishing faster would only grow memory (src/node_transport.ts, protocol.ts).
    return (this.connection as unknown as ClientInternals).protocol?.transport?.socket;
  }

  #pendingBytes(): number {
    const protocol = (this.connection as unknown as ClientInternals).protocol;
    return (protocol?.outbound?.size() ?? 0) + (this.#socket()?.writableLength ?? 0);
  }
}
