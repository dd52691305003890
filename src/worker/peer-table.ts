/**
 * A worker's peers: one Link per other worker, bound on first use to a direct channel — a MessagePort
 * handed over by whoever started both threads (the coordinator, or their agent), a TCP connection this
 * worker dials or accepts on its own host, or a NATS transport to a peer on another host. The first call
 * for a peer without a channel asks the coordinator to open one (see cluster/wiring.ts).
 */
import type { Server, Socket } from 'node:net';
import type { MessagePort } from 'node:worker_threads';
import { Channel } from '../channel/channel.js';
import type { WorkerDiedError } from '../errors.js';
import { pairEndpoint } from '../agent/protocol.js';
import type { Bootstrap, DialPlan, NatsPairPlan, OpenReply, ShmEnd } from '../protocol/control.js';
import type { ExitNotice } from '../protocol/messages.js';
import { Endpoint } from '../rpc/endpoint.js';
import { Link, closedChannelError } from '../rpc/link.js';
import { acceptTcp, dialTcp } from '../transport/tcp-auth.js';
import type { Transport } from '../transport/transport.js';
import type { NatsAccess } from './nats-access.js';
import { threadTransport } from './thread-transport.js';

export class PeerTable {
  readonly links = new Map<string, Link>();
  readonly #boot: Bootstrap;
  readonly #secret: Uint8Array;
  /** The worker's handlers, once its module has loaded. */
  #api: object | undefined;
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  readonly #nats: NatsAccess | undefined;
  /** Channels whose endpoint is being built (see sayLastWords). */
  readonly #binding = new Set<Channel>();

  /**
   * `open(name, had)` asks the coordinator for a channel to peer `name` (see Link's `open`); `nats` is
   * how this worker reaches peers on other hosts, in a cluster that has any.
   */
  constructor(boot: Bootstrap, secret: Uint8Array, open: (name: string, had: number) => Promise<OpenReply>, nats?: NatsAccess) {
    this.#boot = boot;
    this.#secret = secret;
    this.#nats = nats;
    for (const name of boot.names) {
      if (name === boot.name) continue;
      const options = { waitMs: boot.linkWaitMs, callTimeoutMs: boot.callTimeoutMs, open: (had: number) => open(name, had) };
      this.links.set(name, new Link(name, options));
    }
  }

  /**
   * The handlers peers reach; set once the worker module has loaded. A channel already bound then was
   * opened by this worker's own factory calling a peer: what the peer sent over it meanwhile waited for
   * them (`awaitApi`), and is served now, in order.
   */
  serve(api: object): void {
    this.#api = api;
    for (const link of this.links.values()) link.endpoint?.serve(api);
  }

  /** Processes listen for peers that dial them. Returns the port. */
  async listen(): Promise<number> {
    // node:net is loaded here, not with the module: a thread never listens, and most never dial.
    const server = process
      .getBuiltinModule('node:net')
      .createServer({ noDelay: true, pauseOnConnect: true }, (socket) => this.#accept(socket));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, this.#boot.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', () => {});
    return (server.address() as { port: number }).port;
  }

  /** The port of pair `pair` with peer `name` arrived from the coordinator (with the pair's rings, if it uses shared memory). */
  adoptPort(name: string, incarnation: number, pair: number, port: MessagePort, shm?: ShmEnd): void {
    if (!this.links.has(name)) {
      port.close();
      return;
    }
    this.#bind(name, incarnation, pair, threadTransport(port, shm));
  }

  /** The coordinator's word: dial a peer's listener and bind the connection. Rejects if it cannot. */
  async dial({ name, incarnation, host, port, pair }: DialPlan): Promise<void> {
    if (!this.links.has(name)) throw new TypeError(`Unknown peer "${name}" in a dial plan`);
    const transport = await dialTcp({
      host,
      port,
      secret: this.#secret,
      from: this.#boot.name,
      to: name,
      incarnation: this.#boot.incarnation,
      pair,
      // The accepting side enforces the handshake deadline, from when it takes the connection: a busy
      // peer takes it late. Were this side to give up on its own, it could abandon a connection the peer
      // has just bound, and the peer's calls on it would fail for nothing. A peer that dies closes the
      // connection; one that hangs is ended by the heartbeat.
      handshakeTimeoutMs: 0,
      maxFrameBytes: this.#boot.channel.maxFrameBytes,
      onSocket: (socket) => this.#track(socket),
    });
    this.#bind(name, incarnation, pair, transport);
  }

  /** The coordinator's word: peer `name` is on another host; bind a NATS transport to it as pair `pair`. */
  async bindNats({ name, incarnation, pair }: NatsPairPlan): Promise<void> {
    if (!this.links.has(name)) throw new TypeError(`Unknown peer "${name}" in a NATS pair plan`);
    if (!this.#nats) throw new Error(`Worker "${this.#boot.name}" has no NATS connection to reach "${name}" on another host`);
    const hub = await this.#nats.hub();
    const { name: self, incarnation: own, channel } = this.#boot;
    const transport = hub.open(pairEndpoint(self, own, pair), pairEndpoint(name, incarnation, pair), {
      maxFrameBytes: channel.maxFrameBytes,
      // No deadline: the peer binds its side when the coordinator's word reaches it, behind whatever the
      // coordinator sent it before, and once its own hub is up; a busy or loaded peer may take long. A
      // peer that dies meanwhile is ended by the coordinator's word of its exit (peerGone), as is a pair
      // the coordinator planned again.
      openTimeoutMs: 0,
    });
    this.#bind(name, incarnation, pair, transport);
  }

  /**
   * Last words (this worker is exiting): every peer channel closes with `exit`, what it has queued leaving
   * first, and what this worker's NATS connection holds unsent leaves now. A channel being bound is one too:
   * the frames that came with its handshake are served as its endpoint is built, before it is bound, and a
   * handler among them may be what exits (its replies would be lost with the thread).
   */
  sayLastWords(exit: ExitNotice): void {
    for (const link of this.links.values()) link.endpoint?.channel.close(exit);
    for (const channel of this.#binding) channel.close(exit);
    this.#nats?.flushNow();
  }

  /**
   * Incarnation `incarnation` of peer `name` exited. If a new one is coming, later calls wait for it;
   * otherwise the peer is gone for good and its link fails every call at once from now on.
   */
  peerExited(name: string, incarnation: number, restarting: boolean, error: WorkerDiedError): void {
    this.links.get(name)?.peerExited(incarnation, error, restarting);
  }

  /** Closes every peer channel (flushing what is queued) and the listener. */
  close(error: Error): void {
    for (const link of this.links.values()) {
      link.endpoint?.close(error);
      link.destroy(error);
    }
    this.#server?.close();
    for (const socket of this.#sockets) socket.destroy();
    // After the channels' closes were published: they leave before the connection does.
    void this.#nats?.close();
  }

  #accept(socket: Socket): void {
    this.#track(socket);
    acceptTcp(socket, {
      secret: this.#secret,
      self: this.#boot.name,
      accept: (peer) => this.links.has(peer),
      handshakeTimeoutMs: this.#boot.handshakeTimeoutMs,
      maxFrameBytes: this.#boot.channel.maxFrameBytes,
    }).then(
      ({ peer, incarnation, pair, transport }) => this.#bind(peer, incarnation, pair, transport),
      // A failed or silent handshake only drops that connection; nothing else notices.
      () => socket.destroy(),
    );
  }

  #track(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => this.#sockets.delete(socket));
  }

  #bind(name: string, incarnation: number, pair: number, transport: Transport): void {
    const link = this.links.get(name)!;
    // Declared first: a transport that is already closed reports it while the endpoint is being built.
    let endpoint: Endpoint | undefined;
    const channel = new Channel(transport, {
      ...this.#boot.channel,
      closeError: (cause) => {
        // A peer that said it is exiting died by that exit; otherwise all we know is the lost connection.
        return closedChannelError(name, endpoint?.exitNotice, 'disconnected', cause);
      },
    });
    // Until bound, it is found by sayLastWords here: what came with its handshake is served as it is built.
    this.#binding.add(channel);
    try {
      endpoint = new Endpoint(channel, {
        api: this.#api,
        // A channel bound while this worker's factory runs serves its handlers once they exist.
        awaitApi: true,
        peerName: name,
        localName: this.#boot.name,
        serial: this.#boot.serial,
        callTimeoutMs: this.#boot.callTimeoutMs,
        // A close with no word of why waits briefly for the coordinator's word of the peer's death.
        explainClose: (error) => link.explainClose(error, incarnation),
      });
      link.bind(endpoint, incarnation, pair);
    } finally {
      this.#binding.delete(channel);
    }
  }
}
