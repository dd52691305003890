// The teller worker: runs transfers as the coordinator of two-phase commit, over convoy channels to
// the shards. All logic lives in Teller; this file only wires it to the runtime.
import { defineWorker, notify } from '../../src/index.js';
import type { BankConfig, Decision, TellerRecord } from './config.js';
import { createRng, pickTransfer, walPath } from './config.js';
import type { ShardApi } from './shard.js';
import { driveTransfers, Teller, type ShardPort, type TransferResult } from './teller-state.js';
import { openWal } from './wal.js';

export interface TellerStatus {
  incarnation: number;
  active: number;
  /** Commits not yet known to be durable on both shards. */
  unacked: number;
  committed: number;
  aborted: number;
  /** The start-up re-send of unacknowledged commits has finished. */
  recovered: boolean;
}

/** What the coordinator and shards may call on a teller (`Remote<TellerApi>`). */
export interface TellerApi {
  /** Runs up to `count` random transfers, `concurrency` at a time, stopping at `stopAtEpochMs`. */
  run(opts: { count: number; concurrency: number; stopAtEpochMs?: number }): Promise<TransferResult[]>;
  /** A recovering shard's question: commit only if this teller logged a commit. */
  outcome(txId: string): Promise<Decision>;
  /**
   * Re-sends unacknowledged commits, then syncs every shard this teller sent anything to: once it resolves,
   * all it sent is handled and durable on them. Resolves to how many commits remain unacknowledged;
   * rejects if a shard did not answer (it died meanwhile).
   */
  flush(): Promise<number>;
  status(): TellerStatus;
}

/** FNV-1a, to give each teller (and each incarnation) its own reproducible transfer stream. */
const hash = (s: string): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
};

export default defineWorker((ctx): TellerApi => {
  const cfg = ctx.data as BankConfig;
  // Fail-stop, as in shard.ts: a teller whose log failed must not answer `outcome` any more.
  const crash = (err: Error): void => {
    if (ctx.signal.aborted) return;
    setImmediate(() => {
      throw err;
    });
  };
  const { wal, replay } = openWal<TellerRecord>(walPath(cfg.dataDir, ctx.name));

  // Prepare and the decisions travel the same ordered channel to a shard: the decision is `notify`,
  // and the next call's reply acknowledges it (see teller-state.ts and README.md).
  const port = (shard: string): ShardPort => {
    const remote = ctx.peer<ShardApi>(shard);
    const oneWay = notify(remote);
    return {
      prepare: (req) => remote.prepare(req),
      sync: () => remote.sync(),
      commit: (txId) => oneWay.commit(txId),
      abort: (txId) => oneWay.abort(txId),
    };
  };
  const teller = new Teller({ name: ctx.name, wal, records: replay.records, port, prepareTimeoutMs: cfg.prepareTimeoutMs, onFatal: crash });
  const rng = createRng(hash(`${cfg.seed}/${ctx.name}/${teller.incarnation}`));

  let recovered = false;
  // Commits a previous incarnation decided but never saw acknowledged go out again (idempotent).
  void teller.resend().then(
    () => (recovered = true),
    (e: unknown) => {
      // A shard that died before answering asks for its undecided transactions itself once it is back.
      if (e instanceof AggregateError) recovered = true;
    },
  );
  ctx.signal.addEventListener('abort', () => void wal.close(), { once: true });

  return {
    run: ({ count, concurrency, stopAtEpochMs = Infinity }) => {
      // A deadline checked per transfer, not AbortSignal.timeout: a timeout signal nobody else
      // references can be garbage-collected before it fires (nodejs/node#57736).
      const stop = () => ctx.signal.aborted || Date.now() >= stopAtEpochMs;
      return driveTransfers(teller, { count, concurrency, next: () => pickTransfer(cfg, rng), stop });
    },
    outcome: (txId) => teller.outcome(txId),
    flush: () => teller.resend(),
    status: () => ({ ...teller.stats(), recovered }),
  };
});
