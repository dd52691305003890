/**
 * Calls awaiting replies, by id. Ids count up by one per call and most calls are answered soon, in about
 * the order they were made, so a power-of-two array indexed by `id & mask` holds them with no hashing and
 * no tombstones (a Map used as this queue was the caller's largest self time in profiles).
 *
 * A call still pending when a newer one needs its slot (it has waited `capacity` calls) moves to a Map
 * on the side, so one stuck call costs one Map entry, not a larger array. When more calls than the array
 * has slots wait that long, the array doubles.
 */
export class PendingTable<T extends { readonly id: number }> {
  #slots: (T | undefined)[];
  #mask: number;
  /** Entries that lost their slot to a newer id. */
  readonly #old = new Map<number, T>();
  #size = 0;

  constructor(capacity = 1024) {
    this.#slots = new Array<T | undefined>(capacity).fill(undefined);
    this.#mask = capacity - 1;
  }

  get size(): number {
    return this.#size;
  }

  /** Slots in the array (for tests and stats): it only grows when many calls wait long. */
  get capacity(): number {
    return this.#slots.length;
  }

  /** Adds `entry`; its id must be above every id added before. */
  set(entry: T): void {
    this.#size++;
    this.#place(entry);
    if (this.#old.size > this.#slots.length) this.#grow();
  }

  /** Removes and returns the entry for `id`, if there is one. */
  take(id: number): T | undefined {
    const index = id & this.#mask;
    const entry = this.#slots[index];
    if (entry !== undefined && entry.id === id) {
      this.#slots[index] = undefined;
      this.#size--;
      return entry;
    }
    if (this.#old.size === 0) return undefined;
    const old = this.#old.get(id);
    if (old !== undefined) {
      this.#old.delete(id);
      this.#size--;
    }
    return old;
  }

  /** Removes and returns every entry, oldest id first. */
  drain(): T[] {
    const entries = [...this.#old.values(), ...this.#slots.filter((entry): entry is T => entry !== undefined)].sort((a, b) => a.id - b.id);
    this.#slots.fill(undefined);
    this.#old.clear();
    this.#size = 0;
    return entries;
  }

  #place(entry: T): void {
    const index = entry.id & this.#mask;
    const previous = this.#slots[index];
    if (previous !== undefined) this.#old.set(previous.id, previous);
    this.#slots[index] = entry;
  }

  #grow(): void {
    const entries = [...this.#old.values(), ...this.#slots.filter((entry): entry is T => entry !== undefined)].sort((a, b) => a.id - b.id);
    const capacity = this.#slots.length * 2;
    this.#slots = new Array<T | undefined>(capacity).fill(undefined);
    this.#mask = capacity - 1;
    this.#old.clear();
    for (const entry of entries) this.#place(entry);
  }
}
