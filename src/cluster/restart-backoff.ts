/**
 * How long a worker waits before each restart: `restartDelayMs`, doubling with each consecutive failure
 * up to MAX_RESTART_DELAY_MS (or `restartDelayMs` itself, if longer: a delay asked for is never cut),
 * starting over once an incarnation stayed up BACKOFF_RESET_MS. The waits are real timers (a coordinator
 * whose work all happens in its workers must stay up for a restart), and `cancelAll()` ends them at once
 * for a closing cluster.
 */
const MAX_RESTART_DELAY_MS = 5000;
/** A worker that was ready this long before it died restarts with the initial delay again. */
const BACKOFF_RESET_MS = 10_000;

/** What the backoff keeps on each worker. */
export interface BackoffState {
  /** Consecutive quick failures: the delay's exponent. */
  backoffStep: number;
  /** `performance.now()` when the current incarnation became ready. */
  readyAt: number;
}

export class RestartBackoff {
  readonly #initialMs: number;
  readonly #waits = new Set<() => void>();

  constructor(initialMs: number) {
    this.#initialMs = initialMs;
  }

  /** A death is about to be answered with restarts: forget old failures if the worker lived long. */
  begin(worker: BackoffState): void {
    if (performance.now() - worker.readyAt > BACKOFF_RESET_MS) worker.backoffStep = 0;
  }

  /** The delay before `worker`'s next restart. */
  delayFor(worker: BackoffState): number {
    return Math.min(Math.max(MAX_RESTART_DELAY_MS, this.#initialMs), this.#initialMs * 2 ** worker.backoffStep);
  }

  /** Waits out the next delay for `worker` (or until `cancelAll`). */
  wait(worker: BackoffState): Promise<void> {
    const delay = this.delayFor(worker);
    worker.backoffStep++;
    return new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#waits.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, delay);
      this.#waits.add(wake);
    });
  }

  /** Ends every wait now. */
  cancelAll(): void {
    for (const wake of [...this.#waits]) wake();
  }
}
