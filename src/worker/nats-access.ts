/**
 * A worker's way to NATS, for its channels to peers on other hosts. A worker placed on an agent has a
 * connection already (its control channel uses it); one of the coordinator's own workers connects on
 * its first cross-host pair, with the options the coordinator handed it, and only then.
 */
import { ClusterClosedError } from '../errors.js';
import { type NatsScope, connectNats } from '../transport/nats-connect.js';
import { NatsHub } from '../transport/nats-hub.js';

export interface NatsAccess {
  /** The hub of this worker's NATS connection. */
  hub(): Promise<NatsHub>;
  /** Last words of an exiting thread or process: what the connection holds unsent goes to its socket now. */
  flushNow(): void;
  /** Closes the connection, if this access is the one that opened it. */
  close(): Promise<void>;
}

/** A hub whose connection belongs to someone else (the remote runtime, which closes it itself). */
export function sharedNats(hub: NatsHub): NatsAccess {
  return { hub: () => Promise.resolve(hub), flushNow: () => hub.flushNow(), close: () => Promise.resolve() };
}

/** A connection of its own, made on first use; `name` shows in the server's list of connections. */
export function lazyNats(nats: NatsScope, name: string): NatsAccess {
  let connecting: Promise<NatsHub> | undefined;
  let hub: NatsHub | undefined;
  let closed = false;
  return {
    hub() {
      if (closed) return Promise.reject(new ClusterClosedError('The worker is shutting down'));
      connecting ??= connectNats(nats.connect, name).then(
        (connection) => (hub = new NatsHub(connection, { cluster: nats.scope })),
        (error: unknown) => {
          // The next pair tries again: the server may be back by then.
          connecting = undefined;
          throw error;
        },
      );
      return connecting;
    },
    flushNow: () => hub?.flushNow(),
    async close() {
      closed = true;
      const opened = await connecting?.catch(() => undefined);
      await opened?.close();
    },
  };
}
