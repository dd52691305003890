/**
 * The mesh's wiring, seen from the coordinator: connecting fresh workers to every live one, and telling
 * workers when an incarnation of a peer ended. After the first start, wirings run one at a time: two
 * workers restarting together would otherwise each wire only to the ready ones and never get a channel
 * to each other.
 */
import { System, type PeerExit } from '../protocol/control.js';
import { planMesh } from './mesh.js';
import type { SharedMemoryPlan } from './shared-memory.js';
import type { WorkerExitEvent } from './types.js';
import type { WorkerHandle } from './worker-handle.js';

export class Wiring {
  readonly #handles: readonly WorkerHandle[];
  /** Each worker's position in the cluster, for the dialing rule. */
  readonly #order = new Map<string, number>();
  readonly #host: string;
  readonly #timeoutMs: number;
  readonly #shm: SharedMemoryPlan | undefined;
  #last: Promise<unknown> = Promise.resolve();

  /** `handles` in spec order; `timeoutMs` bounds each worker's connect call; `shm` picks the thread pairs on rings. */
  constructor(handles: readonly WorkerHandle[], host: string, timeoutMs: number, shm?: SharedMemoryPlan) {
    this.#handles = handles;
    for (const [index, handle] of handles.entries()) this.#order.set(handle.name, index);
    this.#host = host;
    this.#timeoutMs = timeoutMs;
    this.#shm = shm;
  }

  /**
   * Connects `fresh` workers to every ready worker and to each other; resolves when every channel is up,
   * or when a peer that died meanwhile was given up on. Rejects if a fresh worker fails its part.
   */
  async wire(fresh: WorkerHandle[]): Promise<void> {
    const live = this.#handles.filter((h) => fresh.includes(h) || h.state === 'ready');
    const { plans, handoffs } = planMesh(fresh, live, this.#order, this.#host, this.#shm);
    for (const { to, handoff } of handoffs) to.child!.handOff!(handoff);
    await Promise.all(
      [...plans].map(([handle, peerPlans]) =>
        handle.control!.call(System.connect, [peerPlans], { timeoutMs: this.#timeoutMs }).catch((error: unknown) => {
          // A peer that died meanwhile is handled by its own death; only a fresh worker's failure matters here.
          if (fresh.includes(handle)) throw error;
        }),
      ),
    );
  }

  /**
   * Wires `handle` after every earlier wiring has finished, then runs `then` in the same step (nothing
   * else is wired in between).
   */
  wireAlone(handle: WorkerHandle, then: () => void): Promise<void> {
    const run = this.#last.then(async () => {
      await this.wire([handle]);
      then();
    });
    this.#last = run.catch(() => {});
    return run;
  }

  /**
   * Tells every other live worker that `handle`'s incarnation ended — those being wired too, since their
   * wiring may wait for it. `silent` keeps it from user code (an incarnation that died being wired).
   */
  tellPeers(handle: WorkerHandle, event: WorkerExitEvent, silent = false): void {
    const exit: PeerExit = { name: handle.name, incarnation: event.incarnation, reason: event.reason, restarting: event.restarting };
    if (silent) exit.silent = true;
    if (event.exitCode !== undefined) exit.exitCode = event.exitCode;
    if (event.signal !== undefined) exit.signal = event.signal;
    for (const other of this.#handles) {
      if (other !== handle && (other.state === 'ready' || other.state === 'starting')) void other.control?.notify(System.peerExit, [exit]);
    }
  }
}
