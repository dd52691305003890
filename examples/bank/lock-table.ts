// A shard's account locks: who holds each one, and who waits for it.
//
// Waiting for a lock, unlike refusing at once, can deadlock: T1 holds an account on shard-0 and waits
// for one on shard-1 that T2 holds while T2 waits for T1's. Wound-wait rules that out by age (when
// the transfer started): a younger transaction may wait for an older holder, but an older one never
// waits for a younger holder — it wounds it (aborts it) and takes its place in the queue. Every wait
// then points from younger to older, so no cycle can form. Two-phase commit adds one exception: a
// holder that has voted yes may no longer be aborted by the shard, so an older transaction meeting
// one is refused at once, as under no-wait. And every wait is bounded: a holder whose teller died
// keeps its lock until the doubt is resolved, which can take seconds.
//
// This file is the mechanism (the queue, timers, hand-over) and the rule; the shard decides what a
// grant, a wound or a refusal means for its transactions.

/** What a prepare does when the account is locked: wait (wound-wait) or refuse at once (no-wait). */
export type LockPolicy = 'wound-wait' | 'no-wait';

export const LOCK_DEFAULTS = Object.freeze({
  /** @default 'wound-wait' */
  policy: 'wound-wait' as LockPolicy,
  /** How long a prepare may wait for a lock before it votes no (`lock-timeout`). @default 250 */
  waitTimeoutMs: 250,
});

/** A transaction's age: when its transfer started (epoch ms), ties broken by id. Smaller is older. */
export interface Age {
  startedAt: number;
  txId: string;
}

export const isOlder = (a: Age, b: Age): boolean => a.startedAt < b.startedAt || (a.startedAt === b.startedAt && a.txId < b.txId);

/**
 * What a requester does about a lock held by another transaction. `woundable`: the holder has not
 * voted yet, so the shard may still abort it.
 */
export function onConflict(policy: LockPolicy, requester: Age, holder: Age, woundable: boolean): 'wait' | 'wound' | 'refuse' {
  if (policy === 'no-wait') return 'refuse';
  if (!isOlder(requester, holder)) return 'wait';
  return woundable ? 'wound' : 'refuse';
}

/** How a wait ended. `granted`: the waiter now holds the lock. */
export type WaitEnd = 'granted' | 'timeout' | 'cancelled';

interface Waiter {
  age: Age;
  account: string;
  done: (end: WaitEnd) => void;
  timer: NodeJS.Timeout;
}

export class LockTable {
  #holders = new Map<string, string>();
  /** account → its waiters, oldest served first. */
  #queues = new Map<string, Waiter[]>();
  /** txId → its wait, to cancel it. */
  #waits = new Map<string, Waiter>();

  holder(account: string): string | undefined {
    return this.#holders.get(account);
  }

  /** account → holder, for a snapshot. */
  holders(): Record<string, string> {
    return Object.fromEntries(this.#holders);
  }

  get waiting(): number {
    return this.#waits.size;
  }

  take(account: string, txId: string): void {
    this.#holders.set(account, txId);
  }

  /**
   * Releases `account` if `txId` holds it, and hands it to the oldest waiter at once (synchronously,
   * so no newcomer can slip in between). The waiter's `done('granted')` runs before this returns.
   */
  release(account: string, txId: string): void {
    if (this.#holders.get(account) !== txId) return;
    this.#holders.delete(account);
    const queue = this.#queues.get(account);
    if (!queue?.length) return;
    let oldest = 0;
    for (let i = 1; i < queue.length; i++) if (isOlder(queue[i]!.age, queue[oldest]!.age)) oldest = i;
    const [next] = queue.splice(oldest, 1);
    this.#end(next!);
    this.#holders.set(account, next!.age.txId);
    next!.done('granted');
  }

  /** Queues `age.txId` for `account`; `done` is called once: granted, timed out, or cancelled. */
  wait(account: string, age: Age, timeoutMs: number, done: (end: WaitEnd) => void): void {
    const waiter: Waiter = { age, account, done, timer: setTimeout(() => this.#drop(waiter, 'timeout'), timeoutMs) };
    waiter.timer.unref(); // a wait must not keep a process alive on its own
    let queue = this.#queues.get(account);
    if (!queue) this.#queues.set(account, (queue = []));
    queue.push(waiter);
    this.#waits.set(age.txId, waiter);
  }

  /** Ends `txId`'s wait, if it is waiting (its transaction was aborted meanwhile). */
  cancel(txId: string): void {
    const waiter = this.#waits.get(txId);
    if (waiter) this.#drop(waiter, 'cancelled');
  }

  #drop(waiter: Waiter, end: WaitEnd): void {
    const queue = this.#queues.get(waiter.account)!;
    queue.splice(queue.indexOf(waiter), 1);
    this.#end(waiter);
    waiter.done(end);
  }

  #end(waiter: Waiter): void {
    clearTimeout(waiter.timer);
    this.#waits.delete(waiter.age.txId);
    if (this.#queues.get(waiter.account)?.length === 0) this.#queues.delete(waiter.account);
  }
}
