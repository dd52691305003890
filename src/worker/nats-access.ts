/**
 * A worker's way to NATS, for its channels to peers on other hosts. A worker placed on an agent has a
 * connection already (its control channel uses it); one of the coordinator's own workers connects on
 * its first cross-host pair, with the options the coordinator handed it, and only then.
 */
import { ClusterClosedError } from '../errors.js';
import type { NatsScope } from '../cluster/nats-options.js';
import type { NatsHub } from '../transport/nats-hub.js';

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
      // The NATS client is loaded here, on the first cross-host pair: loaded at start it cost every
      // thread and process ~70 ms of CPU, for a connection most never make.
      connecting ??= Promise.all([import('../transport/nats-connect.js'), import('../transport/nats-hub.js')])
        .then(
          async ([{ connectNats }, { NatsHub }]) =>
            new NatsHub(await connectNats(nats.connect, name), { cluster: nats.scope, secret: nats.secret }),
        )
        .then(
          (made) => (hub = made),
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
