// A history of writes as the replication check compares it: how many, a digest of them in the order they
// were applied, and the store they leave. The primary keeps one of what it wrote, each replica one of what
// it applied; a replica is in step when both are the same.
import { createHash } from 'node:crypto';
import type { Write } from './replica.js';

export interface HistoryState {
  /** Writes applied. */
  length: number;
  /** SHA-256 of every write (seq, key and value), in the order applied: the same digest, the same writes in the same order. */
  digest: string;
  /** Each key's last value. */
  store: Record<string, number>;
}

export class History {
  readonly #hash = createHash('sha256');
  readonly #store = new Map<string, number>();
  #length = 0;

  get length(): number {
    return this.#length;
  }

  add(write: Write): void {
    // As JSON, so that no key can pass for another's fields.
    this.#hash.update(`${JSON.stringify([write.seq, write.key, write.value])}\n`);
    this.#store.set(write.key, write.value);
    this.#length++;
  }

  state(): HistoryState {
    // A copy: the history goes on after it is read.
    return { length: this.#length, digest: this.#hash.copy().digest('hex'), store: Object.fromEntries(this.#store) };
  }
}

/** Keys whose value in `store` is not the one in `reference` (missing from either counts). */
export function differingKeys(reference: Record<string, number>, store: Record<string, number>): number {
  const keys = new Set([...Object.keys(reference), ...Object.keys(store)]);
  return [...keys].filter((key) => reference[key] !== store[key]).length;
}
