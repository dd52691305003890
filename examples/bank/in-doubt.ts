// Resolving a shard's in-doubt transactions: prepared (so locked), with no decision received.
// That happens when the shard restarts with prepares in its WAL, or when the coordinating teller
// dies before its decision reached the shard. Holding such a lock forever would leak it; deciding
// alone could break atomicity. So the shard asks the one who decided.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Decision, TellerRecord } from './config.js';
import { isWorkerDied } from './config.js';
import { decisionOf, replayDecisions } from './decision-log.js';
import type { ShardState } from './shard-state.js';

export interface InDoubtOptions {
  /** `await teller.outcome(txId)`: the live teller answers from its log (and waits if still deciding). */
  ask(teller: string, txId: string): Promise<Decision>;
  /** The teller's decision log as on disk, for when it stays dead. */
  readTellerLog(teller: string): TellerRecord[];
  /**
   * After the teller has been dead (calls fail with `ERR_CONVOY_WORKER_DIED`) this long, decide from
   * its log file. Safe because only the incarnation that prepared a tx can log its commit, and that
   * incarnation is dead; the wait covers I/O a terminated thread had in flight.
   */
  goneAfterMs: number;
  /** First retry delay; doubles up to 1 s. @default 50 */
  retryMs?: number;
  signal?: AbortSignal;
  now?: () => number;
}

export class InDoubtResolver {
  #shard: ShardState;
  #opts: InDoubtOptions;
  /** Per teller: the transactions to settle, and the loop settling them. */
  #wanted = new Map<string, Set<string>>();
  #running = new Map<string, Promise<void>>();
  #resolved = 0;

  constructor(shard: ShardState, opts: InDoubtOptions) {
    this.#shard = shard;
    this.#opts = opts;
  }

  /** How many in-doubt transactions this resolver has settled. */
  get resolved(): number {
    return this.#resolved;
  }

  /** Resolves what is undecided now (everything, after a restart), or what is older than `olderThanMs`. */
  async resolveAll(olderThanMs = 0): Promise<void> {
    const tellers = new Set(this.#shard.inDoubt(undefined, olderThanMs).map((d) => d.teller));
    await Promise.all([...tellers].map((t) => this.resolve(t, olderThanMs)));
  }

  /**
   * Every `everyMs`, resolves transactions undecided for more than twice that. `peer-exit` covers
   * the usual case; the sweep covers a prepare from a teller that was handled after the teller's exit
   * was reported, and any other way a lock could be forgotten. Asking is always safe: a live teller
   * waits for its own decision before answering.
   */
  startSweep(everyMs: number): void {
    const timer = setInterval(() => void this.resolveAll(2 * everyMs), everyMs);
    timer.unref(); // a watcher must not keep the worker alive
    this.#opts.signal?.addEventListener('abort', () => clearInterval(timer), { once: true });
  }

  /**
   * Resolves one teller's transactions undecided now (on its `peer-exit`). Only those: prepares
   * arriving later belong to live transfers, and chasing them would keep the loop running forever.
   */
  resolve(teller: string, olderThanMs = 0): Promise<void> {
    let wanted = this.#wanted.get(teller);
    if (!wanted) this.#wanted.set(teller, (wanted = new Set()));
    for (const { txId } of this.#shard.inDoubt(teller, olderThanMs)) wanted.add(txId);
    let run = this.#running.get(teller);
    if (!run) {
      run = this.#settle(teller, wanted).finally(() => this.#running.delete(teller));
      this.#running.set(teller, run);
    }
    return run;
  }

  async #settle(teller: string, wanted: Set<string>): Promise<void> {
    const now = this.#opts.now ?? Date.now;
    let delayMs = this.#opts.retryMs ?? 50;
    let deadSince: number | undefined;
    for (;;) {
      // `wanted` may grow while we wait (another resolve() call); decided ones drop out.
      for (const txId of wanted) if (!this.#shard.isUndecided(txId)) wanted.delete(txId);
      if (wanted.size === 0 || this.#opts.signal?.aborted) {
        this.#wanted.delete(teller);
        return;
      }
      try {
        // Ask concurrently: the answers are independent, and one slow tx must not hold up the rest.
        await Promise.all([...wanted].map(async (txId) => this.#apply(txId, await this.#opts.ask(teller, txId))));
        deadSince = undefined;
        continue;
      } catch (e) {
        if (isWorkerDied(e)) {
          deadSince ??= now();
          if (now() - deadSince >= this.#opts.goneAfterMs) {
            const log = replayDecisions(this.#opts.readTellerLog(teller));
            for (const txId of wanted) this.#apply(txId, decisionOf(log, txId));
            // No return: the loop re-checks after the pause, for a prepare that was still being logged.
          }
        }
        // Not dead (or not for long): the teller may be restarting. Ask again later.
      }
      try {
        await sleep(delayMs, undefined, this.#opts.signal ? { signal: this.#opts.signal } : {});
      } catch {
        return; // shutting down
      }
      delayMs = Math.min(delayMs * 2, 1000);
    }
  }

  #apply(txId: string, decision: Decision): void {
    // The decision may also have arrived directly meanwhile (a re-sent commit): `decide` applies once.
    if (this.#shard.decide(txId, decision)) this.#resolved++;
  }
}
