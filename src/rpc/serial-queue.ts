/**
 * Serial mode: each message from one sender finishes (its async handler settled) before the next starts.
 * An array with a head index, not a promise chain, so a long backlog costs no closures per link.
 */
export type SerialTask = () => Promise<void> | undefined;

interface Entry {
  task: SerialTask;
  done: (() => void) | undefined;
}

export class SerialQueue {
  #tasks: Entry[] = [];
  #head = 0;
  #running = false;

  get length(): number {
    return this.#tasks.length - this.#head;
  }

  /**
   * Queues `task`. With `track`, returns a promise that settles when the task has finished (or the
   * queue is cleared).
   */
  push(task: SerialTask, track = false): Promise<void> | undefined {
    const entry: Entry = { task, done: undefined };
    const finished = track ? new Promise<void>((resolve) => (entry.done = resolve)) : undefined;
    this.#tasks.push(entry);
    if (!this.#running) this.#run();
    return finished;
  }

  clear(): void {
    for (let i = this.#head; i < this.#tasks.length; i++) this.#tasks[i]!.done?.();
    this.#tasks = [];
    this.#head = 0;
  }

  #run(): void {
    this.#running = true;
    while (this.#head < this.#tasks.length) {
      const entry = this.#tasks[this.#head++]!;
      const pending = entry.task();
      if (pending) {
        void pending.then(() => {
          entry.done?.();
          this.#run();
        });
        return;
      }
      entry.done?.();
    }
    this.#tasks = [];
    this.#head = 0;
    this.#running = false;
  }
}
