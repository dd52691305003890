/**
 * A worker's peers: one Link per other worker, bound to a direct channel — a MessagePort handed over by
 * the coordinator (thread↔thread) or a TCP connection this worker dials or accepts.
 */
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import type { MessagePort } from 'node:worker_threads';
import { Channel } from '../channel/channel.js';
import type { WorkerDiedError } from '../errors.js';
import type { Bootstrap, PeerPlan, ShmEnd } from '../protocol/control.js';
import { Endpoint } from '../rpc/endpoint.js';
import { Link, closedChannelError } from '../rpc/link.js';
import { acceptHandshake, dialHandshake } from '../transport/tcp-handshake.js';
import { createThreadTransport } from '../transport/shm.js';
import { TcpTransport } from '../transport/tcp.js';
import type { Transport } from '../transport/transport.js';

export class PeerTable {
  readonly links = new Map<string, Link>();
  readonly #boot: Bootstrap;
  readonly #secret: Uint8Array;
  #api: object = {};
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();

  constructor(boot: Bootstrap, secret: Uint8Array) {
    this.#boot = boot;
    this.#secret = secret;
    for (const name of boot.names) {
      if (name !== boot.name) this.links.set(name, new Link(name, { waitMs: boot.linkWaitMs, callTimeoutMs: boot.callTimeoutMs }));
    }
  }

  /** The handlers peers reach; set once the worker module has loaded. */
  serve(api: object): void {
    this.#api = api;
  }

  /** Processes listen for peers that dial them. Returns the port. */
  async listen(): Promise<number> {
    const server = createServer({ noDelay: true, pauseOnConnect: true }, (socket) => this.#accept(socket));
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

  /** A port for peer `name` arrived from the coordinator (with the pair's rings, if it uses shared memory). */
  adoptPort(name: string, incarnation: number, port: MessagePort, shm?: ShmEnd): void {
    if (!this.links.has(name)) {
      port.close();
      return;
    }
    this.#bind(name, incarnation, createThreadTransport(port, shm));
  }

  /**
   * Connects (or waits to be connected) to each planned peer; resolves when every one is bound or known
   * to have ended meanwhile (the coordinator says so): that peer's own restart wires it again.
   */
  async connect(plans: PeerPlan[]): Promise<void> {
    await Promise.all(
      plans.map(async (plan) => {
        const link = this.links.get(plan.name);
        if (!link) throw new TypeError(`Unknown peer "${plan.name}" in the connect plan`);
        if (plan.via === 'dial') {
          try {
            await this.#dial(plan.name, plan.host, plan.port, plan.incarnation);
          } catch (error) {
            // Refused or cut off: if the peer died, the coordinator's word comes within moments.
            if (await this.#endsWithin(link, plan.incarnation, this.#boot.handshakeTimeoutMs)) return;
            throw error;
          }
        }
        await link.whenBound(plan.incarnation);
      }),
    );
  }

  /** Whether the coordinator says, within `ms`, that `incarnation` of the link's peer has ended. */
  async #endsWithin(link: Link, incarnation: number, ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<true>((resolve) => (timer = setTimeout(resolve, ms, true)));
    try {
      // whenBound is false once the incarnation ended; a bind (true) or the deadline means it did not.
      return !(await Promise.race([link.whenBound(incarnation), deadline]));
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Incarnation `incarnation` of peer `name` exited. If a new one is coming, later calls wait for it;
   * otherwise the peer is gone for good and its link fails every call at once from now on.
   */
  peerExited(name: string, incarnation: number, restarting: boolean, error: WorkerDiedError): void {
    const link = this.links.get(name);
    if (restarting) link?.peerExited(incarnation, error);
    else link?.destroy(error);
  }

  /** Closes every peer channel (flushing what is queued) and the listener. */
  close(error: Error): void {
    for (const link of this.links.values()) {
      link.endpoint?.close(error);
      link.destroy(error);
    }
    this.#server?.close();
    for (const socket of this.#sockets) socket.destroy();
  }

  async #dial(name: string, host: string, port: number, peerIncarnation: number): Promise<void> {
    const socket = netConnect({ host, port, noDelay: true });
    this.#track(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const { leftover } = await dialHandshake(socket, {
      secret: this.#secret,
      from: this.#boot.name,
      to: name,
      incarnation: this.#boot.incarnation,
      timeoutMs: this.#boot.handshakeTimeoutMs,
    });
    this.#bind(name, peerIncarnation, new TcpTransport(socket, { maxFrameBytes: this.#boot.channel.maxFrameBytes, leftover }));
  }

  #accept(socket: Socket): void {
    this.#track(socket);
    acceptHandshake(socket, {
      secret: this.#secret,
      self: this.#boot.name,
      accept: (peer) => this.links.has(peer),
      timeoutMs: this.#boot.handshakeTimeoutMs,
    }).then(
      ({ peer, incarnation, leftover }) => {
        this.#bind(peer, incarnation, new TcpTransport(socket, { maxFrameBytes: this.#boot.channel.maxFrameBytes, leftover }));
      },
      // A failed or silent handshake only drops that connection; nothing else notices.
      () => socket.destroy(),
    );
  }

  #track(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => this.#sockets.delete(socket));
  }

  #bind(name: string, incarnation: number, transport: Transport): void {
    // Declared first: a transport that is already closed reports it while the endpoint is being built.
    let endpoint: Endpoint | undefined;
    const channel = new Channel(transport, {
      ...this.#boot.channel,
      closeError: (cause) => {
        // A peer that said it is exiting died by that exit; otherwise all we know is the lost connection.
        return closedChannelError(name, endpoint?.exitNotice, 'disconnected', cause);
      },
    });
    endpoint = new Endpoint(channel, {
      api: this.#api,
      peerName: name,
      localName: this.#boot.name,
      serial: this.#boot.serial,
      callTimeoutMs: this.#boot.callTimeoutMs,
    });
    this.links.get(name)!.bind(endpoint, incarnation);
  }
}
