/** Which of the coordinator's and threads' channels run over shared-memory rings, and the rings for them. */
import type { FilledSharedMemoryOptions } from '../options.js';
import type { ShmEnd } from '../protocol/control.js';
import { createShmPair } from '../transport/shm.js';
import type { WorkerSpec } from './types.js';

export class SharedMemoryPlan {
  readonly #options: FilledSharedMemoryOptions;

  constructor(options: FilledSharedMemoryOptions) {
    this.#options = options;
  }

  /**
   * Whether a worker's channels use shared memory: its own choice, else the cluster's; the coordinator's
   * own threads only (a worker on another host shares no memory with this process).
   */
  uses(spec: WorkerSpec): boolean {
    return (spec.kind ?? 'thread') === 'thread' && spec.host === undefined && (spec.sharedMemory ?? this.#options.sharedMemory);
  }

  /** Rings for the coordinator's channel to a thread: [the coordinator's end, the thread's end]. */
  forControl(spec: WorkerSpec): [ShmEnd, ShmEnd] | undefined {
    return this.uses(spec) ? this.#pair() : undefined;
  }

  /** Rings for the channel between two threads, when both use shared memory: [a's end, b's end]. */
  forPair(a: WorkerSpec, b: WorkerSpec): [ShmEnd, ShmEnd] | undefined {
    return this.uses(a) && this.uses(b) ? this.#pair() : undefined;
  }

  #pair(): [ShmEnd, ShmEnd] {
    return createShmPair(this.#options.ringBytes, this.#options.spinMicros);
  }
}
