/**
 * Hang detection: the coordinator pings every ready worker each `heartbeatIntervalMs`; any frame from a
 * worker counts as a sign of life. One silent for `heartbeatTimeoutMs` is hung (a busy loop, a stuck
 * event loop) and is ended. One unref'd timer serves the whole cluster.
 *
 * A channel counts what it hears (Channel.heard) rather than timing it, so a tick that finds the count
 * moved takes the worker as heard at that tick: a hang is judged between `heartbeatTimeoutMs` and that
 * plus two intervals after the last frame, never sooner.
 */
import type { FilledHealthOptions } from '../options.js';
import type { WorkerHandle } from './worker-handle.js';

/** What the heartbeat last saw of a worker: its control channel's count of what it heard, and when that moved. */
interface Heard {
  count: number;
  at: number;
}

export class Heartbeat {
  readonly #options: FilledHealthOptions;
  readonly #onHung: (handle: WorkerHandle) => void;
  readonly #watched = new Map<WorkerHandle, Heard>();
  #timer: NodeJS.Timeout | undefined;
  #seq = 0;
  #lastTick = performance.now();

  constructor(options: FilledHealthOptions, onHung: (handle: WorkerHandle) => void) {
    this.#options = options;
    this.#onHung = onHung;
  }

  watch(handle: WorkerHandle): void {
    // Start counting from now: the time spent starting is bounded by startTimeoutMs instead.
    this.#watched.set(handle, { count: handle.control?.channel.heard ?? 0, at: performance.now() });
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
    for (const [handle, heard] of this.#watched) {
      const control = handle.control;
      // One that said its last words is exiting, not hung: the exit grace stops it if it never finishes.
      if (!control || control.closed || control.exitNotice) continue;
      if (control.channel.heard !== heard.count) {
        heard.count = control.channel.heard;
        heard.at = now;
      } else if (stalled) heard.at = Math.max(heard.at, now - this.#options.heartbeatIntervalMs);
      else if (now - heard.at > this.#options.heartbeatTimeoutMs) {
        this.#watched.delete(handle);
        this.#onHung(handle);
        continue;
      }
      control.ping(seq);
    }
  }
}
