/**
 * The coordinator's TCP listener, for the control connections of process workers. A connection is
 * handled only after it proves the cluster secret and names a worker incarnation we are waiting for.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { namedError } from '../named-error.js';
import { COORDINATOR } from '../protocol/control.js';
import { acceptTcp } from '../transport/tcp-auth.js';
import type { TcpTransport } from '../transport/tcp.js';

interface Expected {
  incarnation: number;
  resolve(transport: TcpTransport): void;
}

export class ControlListener {
  readonly #server: Server;
  readonly #secret: Uint8Array;
  readonly #maxFrameBytes: number;
  readonly #handshakeTimeoutMs: number;
  readonly #expected = new Map<string, Expected>();
  readonly #pending = new Set<Socket>();
  port = 0;

  private constructor(server: Server, options: { secret: Uint8Array; maxFrameBytes: number; handshakeTimeoutMs: number }) {
    this.#server = server;
    this.#secret = options.secret;
    this.#maxFrameBytes = options.maxFrameBytes;
    this.#handshakeTimeoutMs = options.handshakeTimeoutMs;
  }

  static async open(
    host: string,
    options: { secret: Uint8Array; maxFrameBytes: number; handshakeTimeoutMs: number },
  ): Promise<ControlListener> {
    const server = createServer({ noDelay: true, pauseOnConnect: true });
    const listener = new ControlListener(server, options);
    server.on('connection', (socket) => listener.#accept(socket));
    await new Promise<void>((resolve, reject) => {
      const fail = (error: NodeJS.ErrnoException) => reject(listenError(host, error));
      server.once('error', fail);
      server.listen(0, host, () => {
        server.off('error', fail);
        resolve();
      });
    });
    server.on('error', () => {});
    // The listener alone must not keep the coordinator alive.
    server.unref();
    listener.port = (server.address() as { port: number }).port;
    return listener;
  }

  /** Resolves with the control transport of worker `name`'s `incarnation` once it connects. */
  expect(name: string, incarnation: number): Promise<TcpTransport> {
    return new Promise((resolve) => this.#expected.set(name, { incarnation, resolve }));
  }

  forget(name: string): void {
    this.#expected.delete(name);
  }

  close(): void {
    this.#server.close();
    for (const socket of this.#pending) socket.destroy();
    this.#expected.clear();
  }

  #accept(socket: Socket): void {
    this.#pending.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => this.#pending.delete(socket));
    acceptTcp(socket, {
      secret: this.#secret,
      self: COORDINATOR,
      accept: (peer) => this.#expected.has(peer),
      handshakeTimeoutMs: this.#handshakeTimeoutMs,
      maxFrameBytes: this.#maxFrameBytes,
    }).then(
      ({ peer, incarnation, transport }) => {
        this.#pending.delete(socket);
        const expected = this.#expected.get(peer);
        if (!expected || expected.incarnation !== incarnation) {
          transport.destroy();
          return;
        }
        this.#expected.delete(peer);
        expected.resolve(transport);
      },
      () => socket.destroy(),
    );
  }
}

/** A failure to bind names the cluster option it came from (src/named-error.ts). */
function listenError(host: string, error: NodeJS.ErrnoException): Error {
  return namedError(`\`host\` '${host}'`, error);
}
