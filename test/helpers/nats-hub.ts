/** NATS connections and hubs for tests, closed in `t.teardown()`. */
import type { ExecutionContext } from 'ava';
import type { NatsConnectOptions } from '../../src/cluster/nats-options.js';
import { connectNats } from '../../src/transport/nats-connect.js';
import { NatsHub, type NatsHubOptions } from '../../src/transport/nats-hub.js';

let connections = 0;

/** The cluster secret of the tests' hubs, unless one is given. */
export const TEST_SECRET = new Uint8Array(32).fill(7);

/** A hub over a fresh connection to `servers`, for cluster `cluster` (default `test`). */
export async function connectHub(
  t: ExecutionContext,
  servers: string | string[],
  options: Partial<NatsHubOptions> & Omit<NatsConnectOptions, 'servers'> = {},
): Promise<NatsHub> {
  const { cluster = 'test', maxPendingBytes, secret = TEST_SECRET, ...credentials } = options;
  const connection = await connectNats({ servers, ...credentials }, `test-${++connections}`);
  const hub = new NatsHub(connection, { cluster, secret, ...(maxPendingBytes !== undefined ? { maxPendingBytes } : {}) });
  t.teardown(() => hub.close());
  return hub;
}
