/**
 * Hang detection: the coordinator pings every ready worker each `heartbeatIntervalMs`; any frame from a
 * worker counts as a sign of life. One silent for `heartbeatTimeoutMs` is hung (a busy loop, a stuck
 * event loop) and is ended. One unref'd timer serves the whole cluster.
 */
import type { FilledHealthOptions } from '../options.js';
import type { WorkerHandle } from './worker-handle.js';

export class Heartbeat {
  readonly #options: FilledHealthOptions;
  readonly #onHung: (handle: WorkerHandle) => void;
  readonly #watched = new Set<WorkerHandle>();
  #timer: NodeJS.Timeout | undefined;
  #seq = 0;
  #lastTick = performance.now();

  constructor(options: FilledHealthOptions, onHung: (handle: WorkerHandle) => void) {
    this.#options = options;
    this.#onHung = onHung;
  }

  watch(handle: WorkerHandle): void {
    this.#watched.add(handle);
    // Start counting from now: the time spent starting is bounded by startTimeoutMs instead.
    if (handle.control) handle.control.channel.lastReceivedAt = performance.now();
    if (!this.#timer) {
      this.#lastTick = performance.now();
      this.#timer = setInterval(() => this.#tick(), this.#options.heartbeatIntervalMs).unref();
    }
  }

  unwatch(handle: WorkerHandle): void {
    this.#watched.delete(handle);
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#watched.clear();
  }

  #tick(): void {
    const now = performance.now();
    const seq = ++this.#seq;
    // A late tick means the coordinator itself was stalled: the workers' answers may be waiting unread
    // behind this timer. Judge nobody this round; the pings below are answered before the next.
    const stalled = now - this.#lastTick > this.#options.heartbeatIntervalMs * 2;
    this.#lastTick = now;
    for (const handle of this.#watched) {
      const control = handle.control;
      // One that said its last words is exiting, not hung: the exit grace stops it if it never finishes.
      if (!control || control.closed || control.exitNotice) continue;
      if (stalled) control.channel.lastReceivedAt = Math.max(control.channel.lastReceivedAt, now - this.#options.heartbeatIntervalMs);
      else if (now - control.channel.lastReceivedAt > this.#options.heartbeatTimeoutMs) {
        this.#watched.delete(handle);
        this.#onHung(handle);
        continue;
      }
      control.ping(seq);
    }
  }
}
