// A shard's accounts and its half of two-phase commit, as a plain state machine over a WAL.
//
// Every transition happens synchronously when a message *starts* being handled; only the wait for
// durability is async. That matters because convoy's default is start-order, not serial: a commit
// or abort that the teller sent after a prepare starts after it, sees its lock, and the next prepare
// the teller sends for the same account already finds the lock released. No serial mode is needed.
import type { AbortCause, Decision, PrepareRequest, ShardRecord, Vote } from './config.js';
import type { Wal } from './wal.js';

type Status = 'preparing' | 'prepared' | 'committed' | 'aborted';

interface Tx {
  status: Status;
  teller: string;
  account: string;
  delta: number;
  /** When it was prepared (this incarnation's clock), so a sweep can find old undecided ones. */
  sinceMs: number;
}

export interface ShardSnapshot {
  name: string;
  balances: Record<string, number>;
  /** account → txId holding its lock. Empty once every transaction is resolved. */
  locks: Record<string, string>;
  /** Prepared transactions still waiting for a decision. */
  inDoubt: string[];
  anomalies: { txId: string; what: string }[];
}

export interface ShardStateOptions {
  name: string;
  wal: Wal<ShardRecord>;
  /** The log's records (from `openWal`), replayed before the shard takes any message. */
  records: ShardRecord[];
  /** Balances to start from when the log is empty (first start). */
  opening: Record<string, number>;
  /**
   * Called when a one-way decision could not be made durable. The worker crashes on it (fail-stop):
   * a shard that cannot log must not keep answering.
   */
  onFatal?: (err: Error) => void;
}

export class ShardState {
  readonly name: string;
  #wal: Wal<ShardRecord>;
  #balances = new Map<string, number>();
  #locks = new Map<string, string>();
  #txs = new Map<string, Tx>();
  #anomalies: { txId: string; what: string }[] = [];
  #onFatal: (err: Error) => void;

  constructor(opts: ShardStateOptions) {
    this.name = opts.name;
    this.#wal = opts.wal;
    this.#onFatal = opts.onFatal ?? (() => {});
    if (opts.records.length === 0) {
      this.#apply({ t: 'init', balances: opts.opening });
      this.#log({ t: 'init', balances: opts.opening });
    }
    for (const r of opts.records) this.#apply(r);
  }

  /** Phase one: lock the account and check funds; vote yes only once the prepare is durable. */
  async prepare(req: PrepareRequest): Promise<Vote> {
    const known = this.#txs.get(req.txId);
    if (known) return this.#revote(req, known);
    const cause = this.#refusal(req);
    if (cause) {
      // A no-vote needs no log record (presumed abort) but must not overtake a decision logged before
      // it: the teller counts this reply as an acknowledgement of what it sent earlier.
      await this.#wal.flushed();
      return { vote: 'no', cause };
    }
    const tx: Tx = { status: 'preparing', teller: req.teller, account: req.account, delta: req.delta, sinceMs: performance.now() };
    this.#txs.set(req.txId, tx);
    this.#locks.set(req.account, req.txId);
    try {
      await this.#wal.append({ t: 'prepare', ...req });
    } catch (e) {
      this.#onFatal(e as Error); // cannot promise anything any more: fail-stop
      throw e;
    }
    // An abort may have started while the prepare was being logged (start-order, not serial).
    if (tx.status !== 'preparing') return { vote: 'no', cause: 'aborted' };
    tx.status = 'prepared';
    return { vote: 'yes' };
  }

  /** Phase two, commit. Idempotent: a re-sent commit is a no-op. */
  commit(txId: string): void {
    const tx = this.#txs.get(txId);
    if (tx?.status === 'committed') return;
    if (tx?.status !== 'prepared') {
      this.#anomaly(txId, `commit received while ${tx ? tx.status : 'unknown'} on ${this.name}`);
      return;
    }
    this.#apply({ t: 'commit', txId });
    this.#log({ t: 'commit', txId });
  }

  /** Phase two, abort. Idempotent; an abort for an unknown tx leaves a tombstone so a late prepare fails. */
  abort(txId: string): void {
    const tx = this.#txs.get(txId);
    if (tx?.status === 'aborted') return;
    if (tx?.status === 'committed') {
      this.#anomaly(txId, `abort received after commit on ${this.name}`);
      return;
    }
    if (!tx) {
      this.#txs.set(txId, { status: 'aborted', teller: '', account: '', delta: 0, sinceMs: 0 });
      return; // nothing was locked or logged, so nothing to undo or to log
    }
    this.#apply({ t: 'abort', txId });
    this.#log({ t: 'abort', txId });
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

  /** Holding a lock without a decision: prepared, or its prepare still being logged. */
  isUndecided(txId: string): boolean {
    const status = this.#txs.get(txId)?.status;
    return status === 'prepared' || status === 'preparing';
  }

  snapshot(): ShardSnapshot {
    return {
      name: this.name,
      balances: Object.fromEntries(this.#balances),
      locks: Object.fromEntries(this.#locks),
      inDoubt: this.inDoubt().map((d) => d.txId),
      anomalies: [...this.#anomalies],
    };
  }

  #refusal(req: PrepareRequest): AbortCause | undefined {
    const balance = this.#balances.get(req.account);
    if (balance === undefined) return 'no-account';
    // No-wait locking: refusing at once cannot deadlock, where waiting for the lock could (two
    // tellers each holding one side of the other's transfer).
    if (this.#locks.has(req.account)) return 'locked';
    // Credits only land at commit and the lock excludes other transactions, so this check is enough
    // to keep every balance non-negative.
    if (balance + req.delta < 0) return 'funds';
    return undefined;
  }

  async #revote(req: PrepareRequest, tx: Tx): Promise<Vote> {
    // A duplicate prepare (e.g. a retried call) gets the same answer, never a second lock.
    if (tx.status === 'aborted') return { vote: 'no', cause: 'aborted' };
    if (tx.account !== req.account || tx.delta !== req.delta) {
      this.#anomaly(req.txId, `prepare for ${req.account} ${req.delta} reuses a txId already prepared differently`);
      return { vote: 'no', cause: 'error' };
    }
    await this.#wal.flushed();
    // Re-read: an abort may have landed while we waited (TS would narrow the stale `tx.status`).
    return this.#txs.get(req.txId)?.status === 'aborted' ? { vote: 'no', cause: 'aborted' } : { vote: 'yes' };
  }

  /** The single place state changes, shared by live handling and replay so both agree. */
  #apply(r: ShardRecord): void {
    switch (r.t) {
      case 'init':
        this.#balances = new Map(Object.entries(r.balances));
        return;
      case 'prepare':
        this.#txs.set(r.txId, { status: 'prepared', teller: r.teller, account: r.account, delta: r.delta, sinceMs: performance.now() });
        this.#locks.set(r.account, r.txId);
        return;
      case 'commit': {
        const tx = this.#txs.get(r.txId);
        if (tx?.status !== 'prepared') return; // replay of a damaged log: the checker reports it
        tx.status = 'committed';
        this.#balances.set(tx.account, (this.#balances.get(tx.account) ?? 0) + tx.delta);
        this.#unlock(tx.account, r.txId);
        return;
      }
      case 'abort': {
        const tx = this.#txs.get(r.txId);
        if (!tx || tx.status === 'committed') return;
        tx.status = 'aborted';
        this.#unlock(tx.account, r.txId);
        return;
      }
      case 'anomaly':
        this.#anomalies.push({ txId: r.txId, what: r.what });
        return;
    }
  }

  #unlock(account: string, txId: string): void {
    if (this.#locks.get(account) === txId) this.#locks.delete(account);
  }

  #anomaly(txId: string, what: string): void {
    const r: ShardRecord = { t: 'anomaly', txId, what };
    this.#apply(r);
    this.#log(r);
  }

  /** Logs without waiting: one-way decisions have no reply to hold back; `sync` is the barrier. */
  #log(r: ShardRecord): void {
    this.#wal.append(r).catch((e: Error) => this.#onFatal(e));
  }
}
