/**
 * The narrow waist below the channel: move opaque frames, report close once. A transport knows nothing
 * of messages, batching or RPC.
 */
import type { FrameData } from '../protocol/codec.js';
import type { Message } from '../protocol/messages.js';

export type { FrameData };

/**
 * A frame of one plain message posted as a value (`sendValue`): `[acked, dataCost, encodedBytes, message]`,
 * the header a byte frame would carry, the size its encoding had, and the message itself.
 */
export type ValueFrame = [acked: number, dataCost: number, encodedBytes: number, message: Message];

/** What a transport delivers: a frame's bytes (or the same bytes as a binary string), or a value frame. */
export type ReceivedFrame = FrameData | ValueFrame;

/**
 * Whether `data` has a value frame's shape: four elements, the first a number. A transport checks no more
 * of what it received; the channel validates the rest. Frames of bytes are never arrays.
 */
export function isValueFrame(data: unknown): data is ValueFrame {
  return Array.isArray(data) && data.length === 4 && typeof data[0] === 'number';
}

export interface TransportHandlers {
  /**
   * One whole frame, in the order the other side sent it, with the buffers transferred beside it. The
   * data is read only during this call: a receiver that keeps anything copies it out.
   */
  frame(data: ReceivedFrame, transferred?: ArrayBuffer[]): void;
  /** Called exactly once: `error` is undefined for a clean close by either side. */
  close(error?: Error): void;
  /** The transport has room again after `send` returned false. */
  drain(): void;
  /**
   * Bytes of a frame not yet complete arrived (a stream transport; a MessagePort delivers frames whole):
   * the other side is alive and sending, however long its frame takes to cross.
   */
  progress?(): void;
}

export interface Transport {
  /**
   * Sends one frame. The transport may take ownership of `frame`'s buffer (a MessagePort transfers it),
   * so the caller must not touch it afterwards. `transfer` (only where `transfers` is true) are buffers
   * moved to the other side beside the frame. Returns false when the sender should wait for `drain`.
   */
  send(frame: Uint8Array, transfer?: ArrayBuffer[]): boolean;
  /** Whether `send` can move ArrayBuffers to the other side without copying them (a MessagePort can). */
  readonly transfers: boolean;
  /**
   * Sends a value frame as it is, where the transport can carry values (a MessagePort clones them): for a
   * lone plain message, cloning it costs less than encoding it, posting the bytes and decoding them.
   * Same ordering and return value as `send`.
   */
  sendValue?(frame: ValueFrame): boolean;
  /**
   * Bytes a stream transport writes in front of each frame (its length prefix). A sender that leaves that
   * many bytes free before a frame, in the same buffer, sends it with `sendWithHeadroom`: the transport
   * writes its prefix there instead of copying the frame behind one.
   */
  readonly headroomBytes?: number;
  /**
   * `send` for the frame that starts `headroomBytes` into `buffer` (no buffers transferred); the bytes
   * before it are the transport's to write. Same ownership, ordering and return value as `send`.
   */
  sendWithHeadroom?(buffer: Uint8Array): boolean;
  /** Installs the one listener and starts delivery. Frames that arrived earlier are delivered now. */
  start(handlers: TransportHandlers): void;
  /** Closes after every frame sent so far has been handed to the other side. Idempotent. */
  close(): void;
  /** Closes at once, dropping anything unsent; `close` is reported with `error`. Idempotent. */
  destroy(error?: Error): void;
  /**
   * The other side is known to be gone (its exit was seen elsewhere). A transport whose close the
   * operating system reports when the other side dies (a port, a socket) needs nothing here; one that
   * cannot see it go (NATS) closes once what the other side sent before it died has been delivered.
   */
  peerGone?(): void;
  readonly closed: boolean;
  /** What kind of transport this is, for stats: `port`, `tcp`, `memory`. */
  readonly kind: string;
  /** A short description for errors: `port`, `tcp 127.0.0.1:4242`, `memory`. */
  readonly label: string;
}

/** Reports close exactly once, whatever mix of close, destroy and remote events happens. */
export class CloseOnce {
  #done = false;
  #handlers: TransportHandlers | undefined;
  #early: { error?: Error } | undefined;

  get done(): boolean {
    return this.#done;
  }

  attach(handlers: TransportHandlers): void {
    this.#handlers = handlers;
    if (this.#early) handlers.close(this.#early.error);
  }

  report(error?: Error): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#handlers) this.#handlers.close(error);
    else this.#early = error ? { error } : {};
  }
}
