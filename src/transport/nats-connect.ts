/**
 * Connecting to NATS with the user's credentials, the same way everywhere convoy does it (the
 * coordinator, an agent, a remote worker): reconnect forever (an agent outlives server restarts), and
 * no async stack traces (they cost a stack capture per request).
 */
import { connect, type ConnectionOptions, type Msg, type NatsConnection, type Subscription } from 'nats';
import { toError } from '../errors.js';
import type { NatsConnectOptions } from '../cluster/nats-options.js';

/** Between two tries to reach a lost server. Short: a cross-host call waits on it. */
const RECONNECT_WAIT_MS = 250;

/**
 * How long a connection may take to finish its handshake before it is dropped and the next try made. The
 * `nats` client's default, 20 s, is also how long it waits on a connection cut in the middle of its
 * handshake (a server killed as a client connects, after its INFO, before its PONG): a worker's first
 * cross-host call waited that long, and a reconnect so cut left a host silent past its heartbeat timeout.
 * Not shorter: the client's deadline is a timer, run before the socket is read when the event loop comes
 * back from a long task, and a handshake takes three turns, so a process busy in chunks of a third of this
 * never connects. 10 s is three chunks of the default heartbeatTimeoutMs, past which a busy worker is
 * taken for hung anyway (a 2 s timeout failed every connect of a thread busy in 1.2 s chunks). A first
 * connection that times out is tried again (see connectNats).
 */
export const NATS_HANDSHAKE_TIMEOUT_MS = 10_000;
/** How long a first connection keeps trying handshakes that time out. */
const FIRST_CONNECT_PATIENCE_MS = 30_000;

/** How long a handshake may take, and how long a first connection keeps trying (tests shorten them). */
export interface NatsPatience {
  handshakeTimeoutMs?: number;
  patienceMs?: number;
}

/** The `nats` client options for `options`; `name` shows in the server's connection list. */
export function natsClientOptions(
  options: NatsConnectOptions,
  name: string,
  handshakeTimeoutMs = NATS_HANDSHAKE_TIMEOUT_MS,
): ConnectionOptions {
  const client: ConnectionOptions = {
    servers: options.servers,
    name,
    noAsyncTraces: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: RECONNECT_WAIT_MS,
    timeout: handshakeTimeoutMs,
    // Failing over to another server of a cluster is the point of giving several.
    noRandomize: false,
  };
  if (options.token !== undefined) client.token = options.token;
  if (options.user !== undefined) client.user = options.user;
  if (options.pass !== undefined) client.pass = options.pass;
  if (options.tls !== undefined) client.tls = options.tls;
  return client;
}

/**
 * Connects, or rejects with an error that names the server(s): the client's own names none (a bare
 * CONNECTION_REFUSED). Its code is kept, and the client's error is the cause. Handshakes that time out
 * are tried again, for FIRST_CONNECT_PATIENCE_MS.
 */
export async function connectNats(options: NatsConnectOptions, name: string, patience: NatsPatience = {}): Promise<NatsConnection> {
  const giveUpAt = performance.now() + (patience.patienceMs ?? FIRST_CONNECT_PATIENCE_MS);
  for (;;) {
    try {
      return await connect(natsClientOptions(options, name, patience.handshakeTimeoutMs));
    } catch (error) {
      // The client gives up on a first connection after one handshake timeout; reconnects try again.
      if ((error as { code?: unknown } | null)?.code === 'TIMEOUT' && performance.now() < giveUpAt) continue;
      throw unreachable(options, error);
    }
  }
}

/** The client's connect error, naming the server(s). */
function unreachable(options: NatsConnectOptions, error: unknown): Error {
  const cause: Error & { code?: unknown } = error instanceof Error ? error : new Error(String(error));
  const servers = [options.servers].flat().join(', ');
  const failure = new Error(`Cannot reach the NATS server at ${servers}: ${cause.message}`, { cause });
  return Object.assign(failure, cause.code === undefined ? {} : { code: cause.code });
}

/** How long a close waits for what was published last to reach the server. */
const FLUSH_ON_CLOSE_MS = 1000;

/**
 * Closes `connection` after what was published last (resets, a goodbye) has reached the server: the
 * client's close() drops what it has not written yet. Bounded, as a lost server never answers a flush.
 */
export async function closeNats(connection: NatsConnection): Promise<void> {
  if (connection.isClosed()) return;
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, FLUSH_ON_CLOSE_MS)));
  await Promise.race([connection.flush().catch(() => undefined), bound]);
  clearTimeout(timer);
  await connection.close();
}

/**
 * Subscribes `handle` to `subject`, guarded. The NATS client calls a subscription's callback unguarded: a
 * throw ends the connection's reader, and every subscription with it. What anyone on the server can
 * publish must never get that far: a failure to handle a message goes to `failed`.
 */
export function subscribeGuarded(
  connection: NatsConnection,
  subject: string,
  handle: (message: Msg) => void,
  failed: (error: Error, message: Msg) => void,
): Subscription {
  return connection.subscribe(subject, {
    callback: (error, message) => {
      if (error) return;
      try {
        handle(message);
      } catch (failure) {
        failed(toError(failure), message);
      }
    },
  });
}
