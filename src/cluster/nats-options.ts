/**
 * The types of multi-host clusters: how to reach NATS, and the host events. Kept apart from the
 * code that uses the `nats` client, so that a user's declarations never load the client's own: those
 * name DOM types (TextEncoder) that a Node project compiled with `lib: ["ES2022"]` and `skipLibCheck:
 * false` does not have.
 */

/** TLS to the NATS server: CA, client certificate and key, as files or PEM text (the `nats` client's `TlsOptions`). */
export interface NatsTlsOptions {
  /** The server must be configured with `handshakeFirst: true` too. */
  handshakeFirst?: boolean;
  certFile?: string;
  cert?: string;
  caFile?: string;
  ca?: string;
  keyFile?: string;
  key?: string;
}

/**
 * How to reach the NATS server(s): passed through to the `nats` client as they are. The optional ones
 * may be `undefined` (as `process.env.NATS_TOKEN` may be), under `exactOptionalPropertyTypes` too.
 */
export interface NatsConnectOptions {
  /** `nats://host:port`, or several (the client picks one and fails over to the others). */
  servers: string | string[];
  /** A token the server requires (`nats-server --auth`). */
  token?: string | undefined;
  user?: string | undefined;
  pass?: string | undefined;
  tls?: NatsTlsOptions | undefined;
}

/** `startCluster({ nats })`: where the agents are, and the secret they prove. */
export interface NatsClusterOptions extends NatsConnectOptions {
  /** A file holding the cluster secret (the same file the agents read). */
  secretFile: string;
  /** The cluster's name on the NATS server (`convoy agent --cluster`). @default 'convoy' */
  cluster?: string | undefined;
}

/**
 * How a worker reaches NATS for its cross-host channels: the connection options, and the scope of its
 * cluster session's transports (NatsHub `cluster`), so two sessions never see each other's frames.
 */
export interface NatsScope {
  connect: NatsConnectOptions;
  scope: string;
  /** This session's secret (derived from the cluster secret): what every NATS transport message is signed with. */
  secret: Uint8Array;
}

export interface HostUpEvent {
  name: string;
  pid: number;
}

export interface HostDownEvent {
  name: string;
  reason: string;
}
