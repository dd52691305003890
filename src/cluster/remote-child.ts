/**
 * A worker started by an agent on another host, seen from the coordinator with the same shape as a
 * local thread or process (`Child`): its pid there, when and how it exited (reported by its agent at
 * once, or the loss of its host), and a hard kill that the agent carries out.
 */
import type { HostDownError } from '../agent/errors.js';
import type { Child, ExitInfo } from './spawn.js';

export class RemoteChild implements Child {
  readonly host: string;
  /** The agent's number for this worker. */
  readonly id: number;
  readonly pid: number;
  readonly threadId: number;
  readonly exited: Promise<ExitInfo>;
  readonly #kill: () => void;
  #resolve!: (exit: ExitInfo) => void;
  #hasExited = false;

  constructor(host: string, id: number, started: { pid: number; threadId: number }, kill: () => void) {
    this.host = host;
    this.id = id;
    this.pid = started.pid;
    this.threadId = started.threadId;
    this.#kill = kill;
    this.exited = new Promise((resolve) => (this.#resolve = resolve));
  }

  get hasExited(): boolean {
    return this.#hasExited;
  }

  /** Asks the agent to stop the worker at once (terminate a thread, SIGKILL a process). */
  kill(): void {
    if (!this.#hasExited) this.#kill();
  }

  /** Its agent reported the exit. */
  reportExit(exit: ExitInfo): void {
    if (this.#hasExited) return;
    this.#hasExited = true;
    this.#resolve(exit);
  }

  /**
   * Its host was lost: whatever the worker does now, it counts as gone (its agent ends it when it can,
   * and its channels are closed). How it ended is not known: `disconnected`, with the reason in `error`.
   */
  hostLost(error: HostDownError): void {
    this.reportExit({ crashed: false, disconnected: true, error });
  }
}
