/**
 * When a channel's batch leaves. Batching must add no latency to a lone call and still fill frames
 * under load, so there are four paths:
 *
 * - a message on a quiet channel (nothing in flight, no batch forming) leaves at once, alone: a call made
 *   one at a time waits for nothing. Its followers in the same turn form a batch behind it (next path);
 * - nothing in flight: the batch leaves once the microtask queue stops adding to it (no timer, no
 *   macrotask), so a burst, including a loop that awaits each `notify`, keeps growing one batch until it
 *   pauses;
 * - what handling a received frame queues (replies, the frame's ack) leaves when the frame is done, unless
 *   calls of this side's are in flight (then the end of the turn, below);
 * - calls in flight: replies are on their way and more calls will follow them, and a MessagePort delivers
 *   each reply frame in a callback of its own, so a microtask flush would send one small frame per frame
 *   received: the batch waits for the end of the turn — or leaves as soon as it holds EARLY_FLUSH_BYTES,
 *   so the peer works on it while this side builds the next;
 * - `flushDelayMs` > 0: a timer, for users who trade latency for bigger batches.
 */

/**
 * While calls are in flight a batch this large leaves at once, so the peer works on it while this side
 * builds the next. Smaller sizes send more frames; with nothing in flight (replies, notify bursts) an
 * early flush only splits batches.
 */
export const EARLY_FLUSH_BYTES = 4 * 1024;
/**
 * Or as soon as it holds this many messages: calls and notifies in runs (see Outbox.openRun) take a few
 * bytes each, and ~290 calls of ~14 bytes each made EARLY_FLUSH_BYTES before runs. Counted by messages
 * alone, a batch of runs left only at the end of the turn, and both ends idled waiting for each other
 * (pipelined calls thread ↔ thread at ~3.2M/s, each end idle 40–70% of the time).
 */
export const EARLY_FLUSH_MESSAGES = 256;

/** Microtask hops a growing batch may wait before it is sent anyway. */
const MAX_FLUSH_HOPS = 4096;
/**
 * Hops without a new message before the batch leaves. An `await` of a resolved promise costs one hop and
 * of an async function's result up to three, so a loop that awaits between sends still fills one batch.
 */
const IDLE_HOPS = 3;

/** What the policy reads of its channel. */
export interface Batch {
  /** Messages queued. */
  readonly length: number;
  /** Encoded bytes queued. */
  readonly bytes: number;
}

/**
 * Microtask hops go through a resolved promise: Node's queueMicrotask() makes an AsyncResource per call,
 * which cost a one-at-a-time round trip several hops' worth of allocation.
 */
const RESOLVED = Promise.resolve();

export class FlushPolicy {
  readonly #batch: Batch;
  readonly #flush: () => void;
  readonly #delayMs: number;
  readonly #maxBatchBytes: number;
  #scheduled = false;
  /** A lone message left and no frame has arrived since: a follower is batched by microtasks (followLone). */
  #afterLone = false;
  #hops = 0;
  #idleHops = 0;
  #bytesAtHop = 0;
  /** Messages queued since the batch last left (a run's count as the messages it holds). */
  #queuedSinceSent = 0;

  /** `flush` sends the batch; it is called at most once per `schedule`. */
  constructor(batch: Batch, flush: () => void, options: { flushDelayMs: number; maxBatchBytes: number }) {
    this.#batch = batch;
    this.#flush = flush;
    this.#delayMs = options.flushDelayMs;
    this.#maxBatchBytes = options.maxBatchBytes;
  }

  /** A message was queued (not alone): whether the batch should leave now rather than when scheduled. */
  leaveNow(inFlight: number): boolean {
    this.#queuedSinceSent++;
    return inFlight > 0 && this.#delayMs === 0 && (this.#batch.bytes >= EARLY_FLUSH_BYTES || this.#queuedSinceSent >= EARLY_FLUSH_MESSAGES);
  }

  /** Whether the message just queued is alone on a quiet channel, and leaves at once. */
  leavesAlone(inFlight: number): boolean {
    return inFlight === 0 && this.#delayMs === 0 && !this.#scheduled && !this.#afterLone && this.#batch.length === 1;
  }

  /** Whether what handling a received frame queued (`queued`: messages plus ack bytes) leaves now. */
  afterFrame(queued: number, inFlight: number): boolean {
    return queued > 0 && inFlight === 0 && this.#delayMs === 0;
  }

  /** Makes sure a flush comes; `inFlight` is the number of calls awaiting replies. */
  schedule(inFlight: number): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    if (this.#delayMs > 0) setTimeout(this.#run, this.#delayMs);
    else if (inFlight > 0 && !this.#afterLone) setImmediate(this.#run);
    else {
      this.#hops = 0;
      this.#idleHops = 0;
      this.#bytesAtHop = this.#batch.bytes;
      void RESOLVED.then(this.#settle);
    }
  }

  /**
   * A lone message has just left: what follows it forms one batch behind it, sent once the microtask
   * queue stops adding to it. Microtasks, not the end of the turn, even with the lone call in flight: its
   * reply cannot come before then. Nothing is scheduled until a follower comes, so a call made one at a
   * time costs no hop at all; a frame's arrival (`frameArrived`) ends the lone message's turn.
   */
  followLone(): void {
    if (this.#delayMs === 0) this.#afterLone = true;
  }

  /** A frame arrived: a new turn, in which a message on a quiet channel may leave alone again. */
  frameArrived(): void {
    this.#afterLone = false;
  }

  /** Waits while the batch keeps growing, within `maxBatchBytes` and a hop limit (a producer that never pauses still gets its messages sent). */
  readonly #settle = (): void => {
    if (!this.#scheduled) return;
    // Bytes, not messages: a notify that joins the one before it (a run, see Outbox) adds no message.
    if (this.#batch.bytes !== this.#bytesAtHop) this.#idleHops = 0;
    else this.#idleHops++;
    if (this.#idleHops < IDLE_HOPS && this.#hops < MAX_FLUSH_HOPS && this.#batch.bytes < this.#maxBatchBytes) {
      this.#hops++;
      this.#bytesAtHop = this.#batch.bytes;
      void RESOLVED.then(this.#settle);
      return;
    }
    this.#run();
  };

  readonly #run = (): void => {
    if (!this.#scheduled) return;
    this.#scheduled = false;
    this.#afterLone = false;
    this.#flush();
  };

  /**
   * Everything queued has left by another path (a frame's end, an early flush): the scheduled flush has
   * nothing to send, so it stops where it is, and a lone message may leave at once again.
   */
  sent(): void {
    this.#scheduled = false;
    this.#queuedSinceSent = 0;
  }
}
