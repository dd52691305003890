// The shard worker: some accounts, a WAL, and its half of two-phase commit, served over convoy.
// All logic lives in ShardState and InDoubtResolver; this file only wires them to the runtime.
import { defineWorker } from '../../src/index.js';
import type { BankConfig, PrepareRequest, ShardRecord, TellerRecord, Vote } from './config.js';
import { isTeller, openingBalances, walPath } from './config.js';
import { InDoubtResolver } from './in-doubt.js';
import { ShardState, type ShardSnapshot } from './shard-state.js';
import type { TellerApi } from './teller.js';
import { openWal, readWal, type WalStats } from './wal.js';

export interface ShardStatus {
  /** Time to read and replay the WAL at start. */
  replayMs: number;
  replayedRecords: number;
  tornBytes: number;
  /** Undecided transactions right now. */
  inDoubt: number;
  /** Prepares waiting for a lock right now: each may yet take it, undecided. */
  waiting: number;
  /** In-doubt transactions settled by asking a teller (or reading its log). */
  resolved: number;
  /** The start-up resolution of what the WAL left in doubt has finished. */
  recovered: boolean;
  wal: WalStats;
}

/** What tellers and the coordinator may call on a shard (`Remote<ShardApi>`). */
export interface ShardApi {
  /** Phase one. Awaited: the vote is the reply, sent only once a yes is durable. */
  prepare(req: PrepareRequest): Promise<Vote>;
  /** Phase two, sent with `notify`: one-way, ordered after everything the teller sent before. */
  commit(txId: string): void;
  abort(txId: string): void;
  /** Barrier: replies once everything the caller sent before is applied and durable. */
  sync(): Promise<void>;
  snapshot(): ShardSnapshot;
  status(): ShardStatus;
}

export default defineWorker((ctx): ShardApi => {
  const cfg = ctx.data as BankConfig;
  // Fail-stop: a shard that cannot log must die, and `restart: 'on-failure'` brings it back from its
  // WAL. Not during shutdown, when the log is closed on purpose.
  const crash = (err: Error): void => {
    if (ctx.signal.aborted) return;
    setImmediate(() => {
      throw err;
    });
  };
  const started = performance.now();
  // Replay before returning the handlers: no message is handled on a half-rebuilt state.
  const { wal, replay } = openWal<ShardRecord>(walPath(cfg.dataDir, ctx.name));
  const state = new ShardState({
    name: ctx.name,
    wal,
    records: replay.records,
    opening: openingBalances(cfg, ctx.name),
    locks: { policy: cfg.lockPolicy, waitTimeoutMs: cfg.lockWaitTimeoutMs },
    onFatal: crash,
  });
  const replayMs = performance.now() - started;

  const resolver = new InDoubtResolver(state, {
    // The link follows the teller across restarts: while it is down this call waits for it.
    ask: (teller, txId) => ctx.peer<TellerApi>(teller).outcome(txId),
    readTellerLog: (teller) => readWal<TellerRecord>(walPath(cfg.dataDir, teller)).records,
    goneAfterMs: cfg.tellerGoneAfterMs,
    signal: ctx.signal,
  });
  let recovered = false;
  // In the background: new prepares must not wait for old doubts, and they touch other locks.
  void resolver.resolveAll().then(() => (recovered = true));
  resolver.startSweep(1000);
  // A dead teller's prepared transactions will get no decision from it: ask its next incarnation
  // (or read its log once it stays gone).
  ctx.on('peer-exit', (e) => {
    if (isTeller(e.name)) void resolver.resolve(e.name);
  });
  ctx.signal.addEventListener('abort', () => void wal.close(), { once: true });

  return {
    prepare: (req) => state.prepare(req),
    commit: (txId) => state.commit(txId),
    abort: (txId) => state.abort(txId),
    sync: () => state.sync(),
    snapshot: () => state.snapshot(),
    status: () => ({
      replayMs,
      replayedRecords: replay.records.length,
      tornBytes: replay.tornBytes,
      inDoubt: state.inDoubt().length,
      waiting: state.waiting,
      resolved: resolver.resolved,
      recovered,
      wal: wal.stats(),
    }),
  };
});
