// A shard's accounts and its half of two-phase commit, as a plain state machine over a WAL.
//
// Every transition happens synchronously when a message *starts* being handled; only the wait for
// durability (and, under wound-wait, for a lock) is async. That matters because convoy's default is
// start-order, not serial: a commit or abort that the teller sent after a prepare starts after it,
// sees its lock, and the next prepare the teller sends for the same account already finds the lock
// released. No serial mode is needed.
import type { AbortCause, Decision, PrepareRequest, ShardRecord, Vote } from './config.js';
import { type Age, LOCK_DEFAULTS, type LockPolicy, LockTable, onConflict } from './lock-table.js';
import type { Wal } from './wal.js';

type Status = 'waiting' | 'preparing' | 'prepared' | 'committed' | 'aborted';

interface Tx {
  status: Status;
  teller: string;
  account: string;
  delta: number;
  startedAt: number;
  /** When it was prepared (this incarnation's clock), so a sweep can find old undecided ones. */
  sinceMs: number;
  /** Why the shard aborted it itself (a wound), for its vote. */
  cause?: AbortCause;
  /** While it waits for its lock: the vote, for a duplicate prepare to share. */
  vote?: Promise<Vote>;
}

export interface ShardSnapshot {
  name: string;
  balances: Record<string, number>;
  /** account → txId holding its lock. Empty once every transaction is resolved. */
  locks: Record<string, string>;
  /** Prepared transactions still waiting for a decision. */
  inDoubt: string[];
  /** Prepares waiting for a lock. */
  waiting: number;
  anomalies: { txId: string; what: string }[];
}

export interface ShardStateOptions {
  name: string;
  wal: Wal<ShardRecord>;
  /** The log's records (from `openWal`), replayed before the shard takes any message. */
  records: ShardRecord[];
  /** Balances to start from when the log is empty (first start). */
  opening: Record<string, number>;
  /** What a prepare on a locked account does. @default LOCK_DEFAULTS */
  locks?: { policy?: LockPolicy; waitTimeoutMs?: number };
  /**
   * Called when a one-way decision could not be made durable. The worker crashes on it (fail-stop):
   * a shard that cannot log must not keep answering.
   */
  onFatal?: (err: Error) => void;
}

const ageOf = (txId: string, tx: { startedAt: number }): Age => ({ txId, startedAt: tx.startedAt });

/** An aborted transaction this shard never prepared: a prepare of it that comes later is refused. */
const tombstone = (): Tx => ({ status: 'aborted', teller: '', account: '', delta: 0, startedAt: 0, sinceMs: 0 });

export class ShardState {
  readonly name: string;
  #wal: Wal<ShardRecord>;
  #balances = new Map<string, number>();
  #locks = new LockTable();
  #lockPolicy: LockPolicy;
  #lockWaitTimeoutMs: number;
  #txs = new Map<string, Tx>();
  #anomalies: { txId: string; what: string }[] = [];
  #onFatal: (err: Error) => void;

  constructor(opts: ShardStateOptions) {
    this.name = opts.name;
    this.#wal = opts.wal;
    this.#lockPolicy = opts.locks?.policy ?? LOCK_DEFAULTS.policy;
    this.#lockWaitTimeoutMs = opts.locks?.waitTimeoutMs ?? LOCK_DEFAULTS.waitTimeoutMs;
    this.#onFatal = opts.onFatal ?? (() => {});
    if (opts.records.length === 0) this.#record({ t: 'init', balances: opts.opening });
    for (const r of opts.records) this.#apply(r);
  }

  /** Phase one: lock the account (waiting for it under wound-wait) and check funds; vote yes once durable. */
  async prepare(req: PrepareRequest): Promise<Vote> {
    const known = this.#txs.get(req.txId);
    if (known) return this.#revote(req, known);
    if (!this.#balances.has(req.account)) return this.#refuse('no-account');
    const holderId = this.#locks.holder(req.account);
    if (holderId === undefined) {
      if (this.#balances.get(req.account)! + req.delta < 0) return this.#refuse('funds');
      const tx = this.#newTx(req, 'preparing');
      this.#locks.take(req.account, req.txId);
      return this.#logPrepare(req, tx);
    }
    const holder = this.#txs.get(holderId)!;
    const action = onConflict(this.#lockPolicy, ageOf(req.txId, req), ageOf(holderId, holder), holder.status === 'preparing');
    if (action === 'refuse') return this.#refuse('locked');
    const vote = this.#wait(req);
    if (action === 'wound') this.#abort(holderId, 'wounded'); // hands the lock to the oldest waiter
    return vote;
  }

  /** Phase two, commit. Idempotent: a re-sent commit is a no-op. */
  commit(txId: string): void {
    const tx = this.#txs.get(txId);
    if (tx?.status === 'committed') return;
    if (tx?.status !== 'prepared') {
      this.#anomaly(txId, `commit received while ${tx ? tx.status : 'unknown'} on ${this.name}`);
      return;
    }
    this.#record({ t: 'commit', txId });
  }

  /** Phase two, abort. Idempotent; an abort for an unknown tx leaves a tombstone so a late prepare fails. */
  abort(txId: string): void {
    this.#abort(txId, 'aborted');
  }

  /**
   * Applies a decision learned during in-doubt resolution; false if there was nothing to apply.
   * A commit needs the tx prepared; an abort may also meet one still being logged (its vote then is no).
   */
  decide(txId: string, decision: Decision): boolean {
    const status = this.#txs.get(txId)?.status;
    if (status !== 'prepared' && (decision === 'commit' || status !== 'preparing')) return false;
    if (decision === 'commit') this.commit(txId);
    else this.abort(txId);
    return true;
  }

  /** A barrier: settles after every message that started before it is durable. */
  sync(): Promise<void> {
    return this.#wal.flushed();
  }

  /**
   * Transactions holding a lock without a decision (prepared, or still being logged), with the teller
   * to ask; optionally only one teller's, or only those older than `olderThanMs`.
   */
  inDoubt(teller?: string, olderThanMs = 0): { txId: string; teller: string }[] {
    const out: { txId: string; teller: string }[] = [];
    const before = performance.now() - olderThanMs;
    for (const [txId, tx] of this.#txs) {
      if (tx.status !== 'prepared' && tx.status !== 'preparing') continue;
      if ((teller === undefined || tx.teller === teller) && tx.sinceMs <= before) out.push({ txId, teller: tx.teller });
    }
    return out;
  }

  /** Prepares waiting for a lock. */
  get waiting(): number {
    return this.#locks.waiting;
  }

  /** Holding a lock without a decision: prepared, or its prepare still being logged. */
  isUndecided(txId: string): boolean {
    const status = this.#txs.get(txId)?.status;
    return status === 'prepared' || status === 'preparing';
  }

  snapshot(): ShardSnapshot {
    return {
      name: this.name,
      balances: Object.fromEntries(this.#balances),
      locks: this.#locks.holders(),
      inDoubt: this.inDoubt().map((d) => d.txId),
      waiting: this.waiting,
      anomalies: [...this.#anomalies],
    };
  }

  #newTx(req: PrepareRequest, status: Status): Tx {
    const tx: Tx = {
      status,
      teller: req.teller,
      account: req.account,
      delta: req.delta,
      startedAt: req.startedAt,
      sinceMs: performance.now(),
    };
    this.#txs.set(req.txId, tx);
    return tx;
  }

  /** Queues the prepare for the account's lock; once granted, it goes on as if the lock had been free. */
  #wait(req: PrepareRequest): Promise<Vote> {
    const tx = this.#newTx(req, 'waiting');
    const since = performance.now();
    tx.vote = new Promise<Vote>((resolve) => {
      this.#locks.wait(req.account, ageOf(req.txId, req), this.#lockWaitTimeoutMs, (end) => {
        tx.vote = undefined;
        const waitedMs = performance.now() - since;
        if (end === 'granted') {
          resolve(this.#granted(req, tx).then((vote) => ({ ...vote, waitedMs })));
          return;
        }
        tx.status = 'aborted'; // nothing was locked or logged: a tombstone, so a late duplicate fails
        // Not before what was logged ahead of it is durable, as every reply (see #refuse).
        const cause = end === 'timeout' ? 'lock-timeout' : 'aborted';
        resolve(this.#wal.flushed().then(() => ({ vote: 'no' as const, cause, waitedMs })));
      });
    });
    return tx.vote;
  }

  /** A waiter now holds the lock: check funds against the balance as it is now, then log the prepare. */
  #granted(req: PrepareRequest, tx: Tx): Promise<Vote> {
    if (this.#balances.get(req.account)! + req.delta < 0) {
      tx.status = 'aborted';
      this.#locks.release(req.account, req.txId);
      return this.#refuse('funds');
    }
    tx.status = 'preparing';
    tx.sinceMs = performance.now();
    return this.#logPrepare(req, tx);
  }

  async #logPrepare(req: PrepareRequest, tx: Tx): Promise<Vote> {
    try {
      await this.#wal.append({ t: 'prepare', ...req });
    } catch (e) {
      this.#onFatal(e as Error); // cannot promise anything any more: fail-stop
      throw e;
    }
    // An abort (or a wound) may have started while the prepare was being logged (start-order, not serial).
    if (tx.status !== 'preparing') return { vote: 'no', cause: tx.cause ?? 'aborted' };
    tx.status = 'prepared';
    return { vote: 'yes' };
  }

  async #refuse(cause: AbortCause): Promise<Vote> {
    // A no-vote needs no log record (presumed abort) but must not overtake a decision logged before
    // it: the teller counts this reply as an acknowledgement of what it sent earlier.
    await this.#wal.flushed();
    return { vote: 'no', cause };
  }

  #abort(txId: string, cause: AbortCause): void {
    const tx = this.#txs.get(txId);
    if (tx?.status === 'aborted') return;
    if (tx?.status === 'committed') {
      this.#anomaly(txId, `abort received after commit on ${this.name}`);
      return;
    }
    if (!tx) {
      // Nothing was locked here, but a prepare of it may still land in the log: a previous incarnation's
      // last write, in flight when it died. The abort record decides it for whoever reads the log later.
      this.#txs.set(txId, tombstone());
      this.#log({ t: 'abort', txId });
      return;
    }
    if (tx.status === 'waiting') {
      this.#locks.cancel(txId); // its prepare votes no; nothing was locked or logged
      return;
    }
    tx.cause = cause;
    this.#record({ t: 'abort', txId });
  }

  async #revote(req: PrepareRequest, tx: Tx): Promise<Vote> {
    // A duplicate prepare (e.g. a retried call) gets the same answer, never a second lock; like every
    // reply, not before what was logged ahead of it is durable.
    if (tx.status === 'aborted') {
      await this.#wal.flushed();
      return { vote: 'no', cause: tx.cause ?? 'aborted' };
    }
    if (tx.account !== req.account || tx.delta !== req.delta) {
      this.#anomaly(req.txId, `prepare for ${req.account} ${req.delta} reuses a txId already prepared differently`);
      return { vote: 'no', cause: 'error' };
    }
    if (tx.vote) return tx.vote;
    await this.#wal.flushed();
    // Re-read: an abort may have landed while we waited (TS would narrow the stale `tx.status`).
    return this.#txs.get(req.txId)?.status === 'aborted' ? { vote: 'no', cause: tx.cause ?? 'aborted' } : { vote: 'yes' };
  }

  /**
   * Logs a record, then applies it. In that order because applying can release a lock, which hands it
   * to a waiter whose prepare is logged at once: the log must show this record first.
   */
  #record(r: ShardRecord): void {
    this.#log(r);
    this.#apply(r);
  }

  /** The single place state changes, shared by live handling and replay so both agree. */
  #apply(r: ShardRecord): void {
    switch (r.t) {
      case 'init':
        this.#balances = new Map(Object.entries(r.balances));
        return;
      case 'prepare': {
        const { txId, teller, account, delta, startedAt = 0 } = r;
        if (this.#txs.get(txId)?.status === 'aborted') return; // landed after its abort (see #abort)
        // Another undecided prepare holds the account: this one is a dead incarnation's write that landed
        // late, after its successor had prepared another transaction there. Taking the lock would leave
        // that one prepared without it; the late one stays without the lock, to be decided (its abort
        // usually follows it in the log). One left undecided at the end is the checker's: in doubt.
        const holder = this.#locks.holder(account);
        const taken = holder !== undefined && holder !== txId && this.#txs.get(holder)?.status === 'prepared';
        this.#txs.set(txId, { status: 'prepared', teller, account, delta, startedAt, sinceMs: performance.now() });
        if (!taken) this.#locks.take(account, txId);
        return;
      }
      case 'commit': {
        const tx = this.#txs.get(r.txId);
        if (tx?.status !== 'prepared') return; // replay of a damaged log: the checker reports it
        tx.status = 'committed';
        this.#balances.set(tx.account, (this.#balances.get(tx.account) ?? 0) + tx.delta);
        this.#locks.release(tx.account, r.txId);
        return;
      }
      case 'abort': {
        const tx = this.#txs.get(r.txId);
        if (!tx) this.#txs.set(r.txId, tombstone());
        if (!tx || tx.status === 'committed') return;
        tx.status = 'aborted';
        this.#locks.release(tx.account, r.txId);
        return;
      }
      case 'anomaly':
        this.#anomalies.push({ txId: r.txId, what: r.what });
        return;
    }
  }

  #anomaly(txId: string, what: string): void {
    this.#record({ t: 'anomaly', txId, what });
  }

  /** Logs without waiting: one-way decisions have no reply to hold back; `sync` is the barrier. */
  #log(r: ShardRecord): void {
    this.#wal.append(r).catch((e: Error) => this.#onFatal(e));
  }
}
