/**
 * The bounded spin of shared-memory readers (`spinMicros`). Waking a sleeping thread goes through its
 * event loop, as a message does; a reader that polls its ring instead sees a record within a microsecond.
 * So a reader that expects data soon — it just sent a frame, or just took one — polls for a bounded
 * time before it sleeps.
 *
 * One spinner per thread polls every ring that is spinning, in a check-phase step (setImmediate): never
 * inside a frame's delivery, so the replies a frame's handlers queue in microtasks leave first, and one
 * step for all rings, so ten spinning channels do not block the thread ten times as long. When a ring has
 * data the step ends, so the thread's microtasks and I/O run between deliveries.
 */

/** Spins shorter than this are not worth starting. */
const MIN_SPIN_MS = 0.001;
/** A side whose spins stopped paying still tries a full one this often (one chance in so many). */
const PROBE_EVERY = 16;
/**
 * A spin that waits out a stalled peer (see SpinBudget): longer than a scheduler tick (4 ms at Linux's
 * usual HZ=250, 1 ms at 1000), the time the kernel takes to notice two runnable threads on one CPU while
 * another idles and move one of them.
 */
export const LONG_SPIN_MS = 5;
/** A stall after a long spin that did not help waits for this many stalls at most before the next one. */
const MAX_LONG_EVERY = 64;
/** The spinner polls this long at most before the thread's event loop gets a turn (see step). */
const STEP_MS = 0.5;

/**
 * How long one side spins: `spinMicros` while spins pay, half as long after each spin that found nothing,
 * down to none — with a full spin now and then, to notice when they pay again. A spin pays when the other
 * side answers within it; it cannot when the other side has no core to run on (a machine with more busy
 * threads than cores), and then spinning only takes CPU from it: the budget falls to zero and the side
 * sleeps as it would without a spin.
 *
 * A spin that ran out while the other side had not even read what this side sent (`wasted(true)`) most
 * often means the kernel put both threads on one CPU: the peer, woken by this side, waits for the CPU
 * this side spins on, and each spin only delays it. Halving would keep the pair there, one slow call
 * after another (a wake puts the woken thread beside its waker, and nothing moves it while each side
 * holds the CPU for less than a tick). So the next spin is a long one, past a tick, which lets the kernel
 * see two runnable threads on one CPU beside an idle one and move one of them: when it does, one slow
 * call, then the pair is apart and spins pay again (measured: docs/shared-memory.md, "Against the targets").
 * When a long spin does not help — it finds nothing, or the next spin after it is wasted again (a peer
 * busy elsewhere, a machine with no idle CPU) — stalls take turns of doubling length before the next one
 * (up to one in MAX_LONG_EVERY), until a long spin helps again.
 */
export class SpinBudget {
  readonly #fullMs: number;
  #ms: number;
  #skipped = 0;
  /**
   * Where a long spin stands: `next`, the next spin is one; `spinning`, the spin under way is one; `paid`,
   * one paid, and whether it helped is up to the next spin.
   */
  #long: 'none' | 'next' | 'spinning' | 'paid' = 'none';
  /** One stall in so many gets a long spin; the stalls counted since the last one. */
  #longEvery = 1;
  #stalls = 0;

  constructor(spinMicros: number) {
    this.#fullMs = spinMicros / 1000;
    this.#ms = this.#fullMs;
  }

  /** Whether this side spins at all (`spinMicros` > 0; both sides of a pair are given the same). */
  get enabled(): boolean {
    return this.#fullMs > 0;
  }

  /** Milliseconds to spin now; 0: sleep instead. */
  next(): number {
    if (this.#long === 'next') {
      this.#long = 'spinning';
      return Math.max(LONG_SPIN_MS, this.#fullMs);
    }
    if (this.#ms >= MIN_SPIN_MS) return this.#ms;
    if (this.#fullMs === 0 || ++this.#skipped % PROBE_EVERY !== 0) return 0;
    return this.#fullMs;
  }

  /** A spin found data. */
  paid(): void {
    if (this.#long === 'spinning') {
      this.#long = 'paid';
    } else if (this.#long === 'paid') {
      this.#long = 'none';
      this.#longEvery = 1;
    }
    this.#ms = this.#fullMs;
  }

  /**
   * A spin ran out with nothing found. `peerStalled`: what this side sent is still unread (see the class
   * comment).
   */
  wasted(peerStalled = false): void {
    if (this.#long === 'spinning' || this.#long === 'paid') {
      // The long spin did not help: the next waits for more stalls, and the budget falls as usual.
      this.#long = 'none';
      this.#longEvery = Math.min(2 * this.#longEvery, MAX_LONG_EVERY);
      this.#stalls = 0;
      this.#ms = 0;
      return;
    }
    if (peerStalled && ++this.#stalls >= this.#longEvery) {
      this.#stalls = 0;
      this.#long = 'next';
      return;
    }
    this.#ms /= 2;
  }
}

export interface SpinningReader {
  /** Whether a record (or anything else worth waking for) is ready. Called in a tight loop: cheap. */
  poll(): boolean;
  /** Data is ready: take it. The reader is out of the spinner; it may join again. */
  ready(): void;
  /** Its time is up with nothing ready: go to sleep. The reader is out of the spinner. */
  expired(): void;
}

const spinning = new Map<SpinningReader, number>();
let scheduled = false;

/** Polls `reader` until `deadline` (`performance.now()` ms) at the latest; an earlier one is extended. */
export function spinUntil(reader: SpinningReader, deadline: number): void {
  const current = spinning.get(reader);
  if (current === undefined || current < deadline) spinning.set(reader, deadline);
  if (!scheduled) {
    scheduled = true;
    setImmediate(step);
  }
}

/** Takes `reader` out of the spinner without calling it (it closed). */
export function stopSpinning(reader: SpinningReader): void {
  spinning.delete(reader);
}

function step(): void {
  scheduled = false;
  let woke = false;
  // A long spin gives the event loop a turn every STEP_MS: timers and other ports are served, and the
  // thread stays runnable (an Immediate is pending, so the loop does not sleep).
  const stepEnd = performance.now() + STEP_MS;
  let now = 0;
  while (spinning.size > 0 && !woke && now < stepEnd) {
    now = performance.now();
    for (const [reader, deadline] of spinning) {
      if (reader.poll()) {
        spinning.delete(reader);
        woke = true;
        reader.ready();
      } else if (now >= deadline) {
        spinning.delete(reader);
        reader.expired();
      }
    }
  }
  if (spinning.size > 0 && !scheduled) {
    scheduled = true;
    setImmediate(step);
  }
}
