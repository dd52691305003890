// A teller: the coordinator of two-phase commit for the transfers it runs.
//
// prepare goes to both shards as awaited calls; the decision goes as one-way messages. That is safe
// because each teller→shard channel is FIFO: whatever this teller sends a shard after the decision
// (the next prepare, a sync) starts after the decision on that shard, and a reply to it proves the
// decision was applied and made durable there — an acknowledgement for free, with no extra round trip.
// (If the shard restarted in between, the reply comes from an incarnation that will ask for the
// decision itself; README.md explains why that is just as good.)
import type { AbortCause, Decision, Part, PrepareRequest, TellerRecord, Vote } from './config.js';
import { isWorkerDied, shardOf } from './config.js';
import { decisionOf, replayDecisions, type Decisions } from './decision-log.js';
import { readWal, type Wal } from './wal.js';

/** What the teller needs of one shard: calls and one-way decisions on the same ordered channel. */
export interface ShardPort {
  prepare(req: PrepareRequest): Promise<Vote>;
  /** A barrier call: its reply means everything sent before it is handled and durable. */
  sync(): Promise<void>;
  /** One-way (`notify`): settles when accepted into the channel, not when handled. */
  commit(txId: string): Promise<void>;
  abort(txId: string): Promise<void>;
}

export interface TransferRequest {
  from: string;
  to: string;
  amount: number;
}

export interface TransferResult {
  txId: string;
  outcome: 'committed' | 'aborted';
  cause?: AbortCause;
  /** From start to decision sent. */
  latencyMs: number;
  /** The longest a shard made its prepare wait for an account's lock, if any did. */
  lockWaitMs?: number;
}

export interface TellerOptions {
  name: string;
  wal: Wal<TellerRecord>;
  /** The log's records (from `openWal`). */
  records: TellerRecord[];
  /** Looked up per message, so a restarted shard is reached through its new channel. */
  port(shard: string): ShardPort;
  /**
   * Give up on a prepare after this long and abort (0: wait as long as the runtime does). A shard
   * that is restarting would otherwise stall every transfer touching it. Safe: the decision is
   * abort, and a late prepare is followed on the same channel by that abort. @default 0
   */
  prepareTimeoutMs?: number;
  /** Called when the log fails; the worker crashes on it (fail-stop). */
  onFatal?: (err: Error) => void;
  now?: () => number;
}

export class Teller {
  readonly name: string;
  /** This run's incarnation: part of every txId, so ids never repeat across restarts. */
  readonly incarnation: number;
  /** Settles once the boot record is durable; no txId of this incarnation exists before. */
  readonly ready: Promise<void>;
  #wal: Wal<TellerRecord>;
  #port: (shard: string) => ShardPort;
  #onFatal: (err: Error) => void;
  #now: () => number;
  #prepareTimeoutMs: number;
  #decisions: Decisions;
  #counter = 0;
  #active = new Map<string, Promise<Decision>>();
  /** Per shard: decisions sent on its channel so far (a sequence number per channel). */
  #sent = new Map<string, number>();
  /** Every shard this incarnation sent anything to (a prepare, a decision): what `resend` syncs. */
  #contacted = new Set<string>();
  /** Per shard: commit decisions sent and not yet acknowledged → their sequence number. */
  #awaiting = new Map<string, Map<string, number>>();
  /** Committed tx → shards that have not acknowledged it yet. */
  #sidesLeft = new Map<string, Set<string>>();
  #broken: Error | undefined;

  constructor(opts: TellerOptions) {
    this.name = opts.name;
    this.#wal = opts.wal;
    this.#port = opts.port;
    this.#onFatal = opts.onFatal ?? (() => {});
    this.#now = opts.now ?? (() => performance.now());
    this.#prepareTimeoutMs = opts.prepareTimeoutMs ?? 0;
    this.#decisions = replayDecisions(opts.records);
    for (const txId of this.#decisions.unacked) this.#awaitAcks(txId, this.#decisions.committed.get(txId)!);
    this.incarnation = this.#decisions.incarnation + 1;
    this.ready = this.#durable({ t: 'boot', incarnation: this.incarnation }).then(() => this.#adoptLateCommits());
    this.ready.catch(() => {});
  }

  /** Runs one transfer through two-phase commit. */
  async transfer(req: TransferRequest): Promise<TransferResult> {
    await this.ready;
    const t0 = this.#now();
    // The transfer's age for wound-wait: comparable across tellers, threads and processes of one host.
    const startedAt = performance.timeOrigin + performance.now();
    const txId = `${this.name}/${this.incarnation}/${++this.#counter}`;
    const parts: Part[] = [
      { shard: shardOf(req.from), account: req.from, delta: -req.amount },
      { shard: shardOf(req.to), account: req.to, delta: req.amount },
    ];
    // What `outcome(txId)` answers while the transfer runs. It settles on every path: with the
    // decision, or with the error that stopped the transfer (a commit record that failed to write may
    // still be on disk, so neither answer would be safe).
    let decide!: (d: Decision) => void;
    let fail!: (e: unknown) => void;
    const decision = new Promise<Decision>((resolve, reject) => {
      decide = resolve;
      fail = reject;
    });
    decision.catch(() => {}); // nobody may be asking
    this.#active.set(txId, decision);
    try {
      const { cause, waitedMs } = await firstRefusal(
        parts.map((p) =>
          deadline(
            this.#call(p.shard, (port) => port.prepare({ txId, teller: this.name, account: p.account, delta: p.delta, startedAt })),
            this.#prepareTimeoutMs,
          ),
        ),
      );
      const waited = waitedMs > 0 ? { lockWaitMs: waitedMs } : {};
      if (cause === undefined) {
        // Logged and fsynced before any shard can hear it: once one shard applies the commit, a
        // restart of this teller must still say "commit" to the other.
        await this.#durable({ t: 'commit', txId, parts });
        this.#decisions.committed.set(txId, parts);
        this.#awaitAcks(txId, parts);
        decide('commit');
        for (const p of parts) this.#send(p.shard, txId, 'commit');
        return { txId, outcome: 'committed', latencyMs: this.#now() - t0, ...waited };
      }
      this.#decisions.aborted.set(txId, cause);
      decide('abort');
      // Abort goes to both sides, also to one whose vote was lost or has not come yet: it may hold a
      // lock for us, or wait for one (the abort follows its prepare on the channel and ends the wait).
      for (const p of parts) this.#send(p.shard, txId, 'abort');
      this.#log({ t: 'abort', txId, cause }); // not awaited: presumed abort needs no abort record
      return { txId, outcome: 'aborted', cause, latencyMs: this.#now() - t0, ...waited };
    } catch (e) {
      fail(e);
      throw e;
    } finally {
      this.#active.delete(txId);
    }
  }

  /** A recovering shard's question. Unknown means abort; an undecided tx is waited for. */
  async outcome(txId: string): Promise<Decision> {
    if (this.#broken) throw this.#broken;
    await this.ready; // until then a commit of the previous incarnation may be missing (see #adoptLateCommits)
    const deciding = this.#active.get(txId);
    if (deciding) return deciding;
    return decisionOf(this.#decisions, txId);
  }

  /**
   * Re-sends every unacknowledged commit, then syncs every shard this teller sent anything to: the acks
   * are collected, and once it resolves everything it sent (prepares and aborts too) is handled and
   * durable on each shard that answered. Run after a restart and before the end of a run, whose check
   * reads the logs: a prepare and the abort after it can wait in the channel to a shard that was down,
   * and reach it only once it is back, though no commit to it awaits an ack. Resolves to the number
   * of commits still unacknowledged; rejects with an AggregateError of the failed syncs when a shard did
   * not answer (it died meanwhile): then nothing is known of what it handled.
   */
  async resend(): Promise<number> {
    await this.ready;
    for (const [txId, sides] of this.#sidesLeft) {
      for (const shard of sides) this.#send(shard, txId, 'commit'); // idempotent on the shard
    }
    const synced = await Promise.allSettled([...this.#contacted].map((s) => this.#call(s, (port) => port.sync())));
    const failed = synced.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
    if (failed.length > 0) throw new AggregateError(failed, `${this.name}: ${failed.length} shard(s) did not answer the sync`);
    return this.#sidesLeft.size;
  }

  stats(): { incarnation: number; active: number; unacked: number; committed: number; aborted: number } {
    return {
      incarnation: this.incarnation,
      active: this.#active.size,
      unacked: this.#sidesLeft.size,
      committed: this.#decisions.committed.size,
      aborted: this.#decisions.aborted.size,
    };
  }

  /**
   * The previous incarnation's last group of records may still have been in flight when it died (a
   * terminated thread's write runs on in the shared thread pool) and land after `records` was read, but
   * before this incarnation's boot record. Every later replay of the log counts such a commit, so this
   * incarnation must know it too before it answers anyone. Once the boot record is durable, a write
   * landing later follows it, and the replay rule ignores it for everyone alike.
   */
  #adoptLateCommits(): void {
    let onDisk: Decisions;
    try {
      onDisk = replayDecisions(readWal<TellerRecord>(this.#wal.path).records);
    } catch (e) {
      this.#fatal(e as Error);
      throw e;
    }
    for (const [txId, parts] of onDisk.committed) {
      if (this.#decisions.committed.has(txId)) continue;
      this.#decisions.committed.set(txId, parts);
      if (onDisk.unacked.has(txId)) this.#awaitAcks(txId, parts);
    }
  }

  #awaitAcks(txId: string, parts: readonly Part[]): void {
    this.#sidesLeft.set(txId, new Set(parts.map((p) => p.shard)));
  }

  /** A call whose reply acknowledges every decision sent to that shard before it. */
  async #call<T>(shard: string, fn: (port: ShardPort) => Promise<T>): Promise<T> {
    this.#contacted.add(shard);
    const mark = this.#sent.get(shard) ?? 0;
    const value = await fn(this.#port(shard));
    this.#ackUpTo(shard, mark);
    return value;
  }

  #send(shard: string, txId: string, decision: Decision): void {
    this.#contacted.add(shard);
    const seq = (this.#sent.get(shard) ?? 0) + 1;
    this.#sent.set(shard, seq);
    const port = this.#port(shard);
    // A failed send needs no retry here: a shard that died with the tx prepared has it in its WAL
    // and asks for the outcome when it restarts.
    (decision === 'commit' ? port.commit(txId) : port.abort(txId)).catch(() => {});
    if (decision === 'commit') {
      let awaiting = this.#awaiting.get(shard);
      if (!awaiting) this.#awaiting.set(shard, (awaiting = new Map()));
      awaiting.set(txId, seq);
    }
  }

  #ackUpTo(shard: string, mark: number): void {
    const awaiting = this.#awaiting.get(shard);
    if (!awaiting) return;
    for (const [txId, seq] of awaiting) {
      if (seq > mark) continue;
      awaiting.delete(txId);
      const sides = this.#sidesLeft.get(txId);
      sides?.delete(shard);
      if (sides?.size === 0) {
        this.#sidesLeft.delete(txId);
        this.#log({ t: 'ack', txId }); // losing it only causes a harmless re-send
      }
    }
  }

  async #durable(r: TellerRecord): Promise<void> {
    try {
      await this.#wal.append(r);
    } catch (e) {
      this.#fatal(e as Error);
      throw e;
    }
  }

  #log(r: TellerRecord): void {
    this.#wal.append(r).catch((e: Error) => this.#fatal(e));
  }

  #fatal(err: Error): void {
    // A commit record may be on disk although its fsync failed; answering "abort" now could
    // contradict a restarted self. So stop answering at all.
    this.#broken ??= err;
    this.#onFatal(err);
  }
}

/**
 * Settles once every shard voted yes (no cause), or at the first refusal: a no vote, or a prepare call
 * that failed or timed out. Deciding abort without waiting for the other vote matters under lock
 * waiting: the other side may be queued for a lock the transfer will never use. `waitedMs`: the
 * longest lock wait among the votes in by then.
 */
function firstRefusal(votes: Promise<Vote>[]): Promise<{ cause?: AbortCause; waitedMs: number }> {
  return new Promise((resolve) => {
    let yes = 0;
    let waitedMs = 0;
    for (const vote of votes) {
      vote.then(
        (v) => {
          waitedMs = Math.max(waitedMs, v.waitedMs ?? 0);
          if (v.vote === 'no') resolve({ cause: v.cause, waitedMs });
          else if (++yes === votes.length) resolve({ waitedMs });
        },
        (e: unknown) => resolve({ cause: isWorkerDied(e) ? 'shard-died' : e === TIMED_OUT ? 'timeout' : 'error', waitedMs }),
      );
    }
  });
}

const TIMED_OUT = Symbol('prepare timed out');

/** `p`, or a rejection with TIMED_OUT after `ms` (0: no deadline). The late settlement still counts. */
function deadline<T>(p: Promise<T>, ms: number): Promise<T> {
  if (ms <= 0) return p;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(TIMED_OUT), ms)));
  p.catch(() => {}); // a late rejection after the deadline is expected, not unhandled
  return Promise.race([p, expired]).finally(() => clearTimeout(timer));
}

/** Runs `count` transfers with at most `concurrency` in flight, starting none once `stop()` is true. */
export async function driveTransfers(
  teller: Teller,
  opts: { count: number; concurrency: number; next: () => TransferRequest; stop?: () => boolean },
): Promise<TransferResult[]> {
  const results: TransferResult[] = [];
  let left = opts.count;
  const lane = async (): Promise<void> => {
    while (left > 0 && !opts.stop?.()) {
      left--;
      const result = await teller.transfer(opts.next());
      results.push(result);
      // A dead shard that is not coming back refuses calls at once, so such a transfer ends within
      // microtasks: without a yield, the lane would spin and starve the event loop (timers, I/O,
      // the runtime's heartbeats) until its count ran out.
      if (result.cause === 'shard-died' || result.cause === 'error') await new Promise((resolve) => setImmediate(resolve));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency) }, lane));
  return results;
}
