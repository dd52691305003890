/**
 * The wire messages: plain tuples, one small file, no I/O. Tuples (not objects) because they encode
 * smaller and faster, and a channel carries millions of them.
 */
import type { WireError } from '../errors.js';

/** Checked in the TCP handshake and in every thread bootstrap; bump on any incompatible change. */
export const PROTOCOL_VERSION = 4;

export const Kind = {
  Call: 0,
  Notify: 1,
  Reply: 2,
  Fault: 3,
  Cancel: 4,
  Ping: 5,
  Pong: 6,
  Goodbye: 7,
  /** The receiver has settled this many notifies (flow control for one-way messages). */
  Settled: 8,
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

/**
 * `id` is a per-channel, per-direction increasing counter. On the wire, calls to one method with
 * consecutive ids may travel as one message, `[Call, id, method, args, args, ...]`, which the receiving
 * channel takes apart into calls of their own.
 */
export type CallMessage = [kind: typeof Kind.Call, id: number, method: string, args: unknown[]];
/**
 * A notify; more arguments are the notifies to the same method sent right after it, `[Notify, method,
 * args, args, ...]` (a run, in one message). The receiving channel hands a run over whole, in spans
 * (ChannelListener.notifies), not taken apart into messages of their own (see docs/architecture.md, "Runs").
 */
export type NotifyMessage = [kind: typeof Kind.Notify, method: string, args: unknown[], ...more: unknown[][]];
/** The reply to call `id`; more values are the replies to calls `id + 1`, `id + 2`, ... (a run, in one message). */
export type ReplyMessage = [kind: typeof Kind.Reply, id: number, value: unknown, ...more: unknown[]];
export type FaultMessage = [kind: typeof Kind.Fault, id: number, error: WireError];
/** The caller gave up on call `id`: aborted, or its timeout (`timeoutMs`, for the call to `method`) ran out. */
export type CancelMessage =
  | [kind: typeof Kind.Cancel, id: number]
  | [kind: typeof Kind.Cancel, id: number, timeoutMs: number, method: string];
export type PingMessage = [kind: typeof Kind.Ping, seq: number];
export type PongMessage = [kind: typeof Kind.Pong, seq: number];
/** The sender is leaving; `exit` is set when its thread or process is exiting (the last words before death). */
export type GoodbyeMessage = [kind: typeof Kind.Goodbye] | [kind: typeof Kind.Goodbye, exit: ExitNotice];
export interface ExitNotice {
  exitCode: number;
  /** Exiting because of an uncaught exception. */
  crashed: boolean;
  /** That exception, when it had one to tell (plain data only, so the last words always encode). */
  error?: WireError;
}
export type SettledMessage = [kind: typeof Kind.Settled, count: number];

export type Message =
  | CallMessage
  | NotifyMessage
  | ReplyMessage
  | FaultMessage
  | CancelMessage
  | PingMessage
  | PongMessage
  | GoodbyeMessage
  | SettledMessage;

/**
 * The TCP handshake, before any message is handled. The listener speaks first with a random challenge;
 * the dialer answers with its name and an HMAC over the challenge; the listener proves itself back.
 */
export interface HandshakeChallenge {
  v: number;
  nonce: Uint8Array;
}
export interface HandshakeHello {
  v: number;
  /** Name of the dialing side (a worker name, or the coordinator). */
  from: string;
  /** Name the dialer expects to reach. */
  to: string;
  /** The dialer's incarnation (0, then 1 after its first restart...), so a stale connection is never taken for a new one. */
  incarnation: number;
  /** The number the coordinator gave this pair's channel (0 for a worker's control connection). */
  pair: number;
  nonce: Uint8Array;
  proof: Uint8Array;
}
export interface HandshakeWelcome {
  proof: Uint8Array;
}
