/**
 * The agent protocol: what a coordinator and an agent say to each other over NATS, and where. Pure
 * types and subjects, no I/O.
 *
 *   agent → announce subject     announce { host, nonce: Na }       (while idle, and on a coordinator's discover)
 *   coordinator → agent subject  join { session, nonce: Nc, Na, proof: HMAC(secret, "join" | host | session | Na | Nc) }
 *   agent → session subject      joined { host, proof: HMAC(secret, "joined" | host | session | Nc | Na) }
 *                                or refused { host, reason } (when the coordinator's proof fails)
 *   agent → announce subject     announce { host, nonce: Na', left: Na, proof: HMAC(secret, "left" | host | Na | Na') }
 *                                (idle again after a session: the coordinator of that session takes it down)
 *
 * Announces and refusals cannot all be signed (a refusal says the secrets differ), and anyone on the
 * server can publish them, so neither is taken at its word: a coordinator takes a host it counts up
 * down on an announce only with the proof that it left, and a refusal fails a start only if the host
 * does not join right after it (a forged one races the real answer, and loses).
 * After that, every message of the session is sealed (seal.ts) with a key both derived from the secret
 * and both nonces, so nobody on the NATS server without the secret can spawn, kill or impersonate.
 */
import type { Bootstrap, WorkerKind } from '../protocol/control.js';
import type { NatsScope } from '../cluster/nats-options.js';
import { subjectToken } from '../transport/nats-wire.js';

/** Checked in the join; bump on any incompatible change. */
export const AGENT_PROTOCOL_VERSION = 1;

const prefix = (cluster: string): string => `convoy.${subjectToken(cluster)}`;
/** Where idle agents announce themselves, and answer a coordinator's discover. */
export const announceSubject = (cluster: string): string => `${prefix(cluster)}.announce`;
/** Where a starting coordinator asks idle agents to announce themselves now. */
export const discoverSubject = (cluster: string): string => `${prefix(cluster)}.discover`;
/** An agent's own subject: joins and sealed session messages for it. */
export const agentSubject = (cluster: string, host: string): string => `${prefix(cluster)}.agent.${subjectToken(host)}`;
/** Where agent `host` speaks to a coordinator session (the session listens on `…<session>.*`). */
export const sessionSubject = (cluster: string, session: string, host: string): string =>
  `${prefix(cluster)}.session.${subjectToken(session)}.${subjectToken(host)}`;
/** What a coordinator session listens on: every agent's messages to it. */
export const sessionSubjects = (cluster: string, session: string): string => `${prefix(cluster)}.session.${subjectToken(session)}.*`;
/** The scope of a session's worker transports (NatsHub `cluster`): sessions never meet each other's frames. */
export const sessionScope = (cluster: string, session: string): string => `${cluster}.${session}`;

export interface Announce {
  t: 'announce';
  v: number;
  host: string;
  nonce: Uint8Array;
  /** Serving another coordinator: it cannot join this one now. */
  busy: boolean;
  /** Idle after a session: the agent nonce that session was joined with (its coordinator knows it)… */
  left?: Uint8Array;
  /** …and the proof of the secret over it (`leftProof`): that coordinator takes the host down at once. */
  proof?: Uint8Array;
}

export interface Join {
  t: 'join';
  v: number;
  session: string;
  nonce: Uint8Array;
  agentNonce: Uint8Array;
  proof: Uint8Array;
  /** How often each side beats, and how long a silence means the other is gone. */
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
}

export interface Joined {
  t: 'joined';
  host: string;
  /** The join's nonce, echoed: a coordinator may have sent several joins before the first answer. */
  nonce: Uint8Array;
  proof: Uint8Array;
  /** Where the agent runs: its process id, for the coordinator's listing. */
  pid: number;
}

export interface Refused {
  t: 'refused';
  host: string;
  session: string;
  reason: string;
}

/** What the agent needs to start one worker, besides the bootstrap. */
export interface RemoteSpawn {
  kind: WorkerKind;
  env?: Record<string, string>;
  argv?: string[];
  execArgv?: string[];
  resourceLimits?: { maxOldGenerationSizeMb?: number; maxYoungGenerationSizeMb?: number; stackSizeMb?: number };
}

/** One thread of a pair the agent connects with a MessageChannel: its id here, its name and incarnation. */
export interface PairEnd {
  id: number;
  name: string;
  incarnation: number;
}

/** Sealed messages of a session, coordinator → agent. */
export type ToAgent =
  | { t: 'spawn'; id: number; boot: Bootstrap; spawn: RemoteSpawn }
  /** Two threads of this agent talk: hand each a port of one MessageChannel, as pair `pair`. */
  | { t: 'pair'; pair: number; ends: [PairEnd, PairEnd] }
  | { t: 'kill'; id: number }
  | { t: 'beat' }
  | { t: 'goodbye'; reason: string };

/** Sealed messages of a session, agent → coordinator. */
export type ToCoordinator =
  | { t: 'spawned'; id: number; pid: number; threadId: number }
  | { t: 'spawn-failed'; id: number; message: string }
  | { t: 'exited'; id: number; exitCode?: number; signal?: string; crashed: boolean; message?: string }
  | { t: 'beat' }
  | { t: 'goodbye'; reason: string };

/**
 * How a worker placed on an agent reaches NATS, handed to it with its bootstrap (never on its command
 * line or in its environment): the agent's own connection options, the session's scope, and the two
 * endpoints of its control transport.
 */
export interface RemoteWorkerNats extends NatsScope {
  /** This worker's endpoint (`workerEndpoint(name, incarnation)`). */
  self: string;
  /** The coordinator's endpoint. */
  coordinator: string;
}

/** The coordinator's endpoint in a session's scope. */
export const COORDINATOR_ENDPOINT = 'coordinator';

/** A worker incarnation's endpoint: `shard-0.2`. Names cannot be "coordinator", so no clash. */
export function workerEndpoint(name: string, incarnation: number): string {
  return `${name}.${incarnation}`;
}

/**
 * A worker incarnation's endpoint in pair channel `pair` (`shard-0.2.p7`): each channel of a pair has
 * subjects of its own, so a new one never meets what is left of one it replaces.
 */
export function pairEndpoint(name: string, incarnation: number, pair: number): string {
  return `${workerEndpoint(name, incarnation)}.p${pair}`;
}
