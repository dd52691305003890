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
 * How long one side spins: `spinMicros` while spins pay, half as long after each spin that found nothing,
 * down to none — with a full spin now and then, to notice when they pay again. A spin pays when the other
 * side answers within it; it cannot when the other side has no core to run on (a machine with more busy
 * threads than cores), and then spinning only takes CPU from it: the budget falls to zero and the side
 * sleeps as it would without a spin.
 */
export class SpinBudget {
  readonly #fullMs: number;
  #ms: number;
  #skipped = 0;

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
    if (this.#ms >= MIN_SPIN_MS) return this.#ms;
    if (this.#fullMs === 0 || ++this.#skipped % PROBE_EVERY !== 0) return 0;
    return this.#fullMs;
  }

  /** A spin found data. */
  paid(): void {
    this.#ms = this.#fullMs;
  }

  /** A spin ran out with nothing found. */
  wasted(): void {
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
  while (spinning.size > 0 && !woke) {
    const now = performance.now();
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
