/**
 * Serial mode: each message from one sender finishes (its async handler settled) before the next starts.
 * An array with a head index, not a promise chain, so a long backlog costs no closures per link.
 */
export type SerialTask = () => Promise<void> | undefined;

export class SerialQueue {
  #tasks: SerialTask[] = [];
  #head = 0;
  #running = false;

  get length(): number {
    return this.#tasks.length - this.#head;
  }

  push(task: SerialTask): void {
    this.#tasks.push(task);
    if (!this.#running) this.#run();
  }

  clear(): void {
    this.#tasks = [];
    this.#head = 0;
  }

  #run(): void {
    this.#running = true;
    while (this.#head < this.#tasks.length) {
      const task = this.#tasks[this.#head++]!;
      const pending = task();
      if (pending) {
        void pending.then(() => this.#run());
        return;
      }
    }
    this.#tasks = [];
    this.#head = 0;
    this.#running = false;
  }
}
