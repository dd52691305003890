// Shared vocabulary of the bank example: configuration, account layout, wire and log record types.
// Pure: no I/O and no runtime import, so the state machines and the checker can be unit-tested alone.
import { join } from 'node:path';
import type { LockPolicy } from './lock-table.js';

/** What every bank worker receives as its spec's `data`. Plain JSON so it crosses any channel. */
export interface BankConfig {
  /** Directory holding one write-ahead log per worker (`<name>.wal`). */
  dataDir: string;
  /** Number of shard workers, named `shard-0` .. `shard-<n-1>`. */
  shards: number;
  /** Accounts held by each shard. */
  accountsPerShard: number;
  /** Opening balance of every account. */
  initialBalance: number;
  /** Largest single transfer; small balances against this make `funds` aborts common. */
  maxAmount: number;
  /** Seed for the tellers' transfer generator, so a run can be replayed. */
  seed: number;
  /** How long a shard waits on an unreachable teller before deciding from its log file. */
  tellerGoneAfterMs: number;
  /** A teller aborts a transfer whose prepare takes longer (a shard restarting); 0: wait. */
  prepareTimeoutMs: number;
  /** What a prepare on a locked account does: wait its turn (wound-wait) or refuse at once. */
  lockPolicy: LockPolicy;
  /** How long a prepare may wait for a lock under wound-wait. */
  lockWaitTimeoutMs: number;
}

/** The data directory's log file for a worker. One file per worker: no two writers share a log. */
export const walPath = (dataDir: string, worker: string): string => join(dataDir, `${worker}.wal`);

export const shardName = (index: number): string => `shard-${index}`;
export const isTeller = (worker: string): boolean => worker.startsWith('teller-');

/** Account ids carry their shard so a teller can route without a directory service. */
export const accountId = (shard: number, n: number): string => `s${shard}a${n}`;

export function shardOf(account: string): string {
  const m = /^s(\d+)a\d+$/.exec(account);
  if (!m) throw new TypeError(`Expected an account id like "s0a1", got ${JSON.stringify(account)}`);
  return shardName(Number(m[1]));
}

/** Opening balances of one shard's accounts (its WAL's `init` record on first start). */
export function openingBalances(cfg: BankConfig, shard: string): Record<string, number> {
  const index = Number(shard.slice('shard-'.length));
  const out: Record<string, number> = {};
  for (let n = 0; n < cfg.accountsPerShard; n++) out[accountId(index, n)] = cfg.initialBalance;
  return out;
}

/** Opening balances of the whole bank, for the checker. */
export function allOpeningBalances(cfg: BankConfig): Record<string, number> {
  const out: Record<string, number> = {};
  for (let s = 0; s < cfg.shards; s++) Object.assign(out, openingBalances(cfg, shardName(s)));
  return out;
}

// ---- protocol between teller and shard ----

/** One side of a transfer: `delta` < 0 debits, > 0 credits. */
export interface Part {
  shard: string;
  account: string;
  delta: number;
}

export interface PrepareRequest {
  txId: string;
  /** The coordinating teller: the one a recovering shard asks for the outcome. */
  teller: string;
  account: string;
  delta: number;
  /** When the transfer started (epoch ms, sub-millisecond): its age for wound-wait. */
  startedAt: number;
}

/**
 * Why a transfer did not commit. `locked`: the account was locked and the prepare did not wait (no-wait,
 * or an older transfer meeting a holder that already voted yes); `lock-timeout`: it waited too long;
 * `wounded`: an older transfer took the lock from it before it voted. `shard-died`, `timeout` and
 * `error`: a prepare call failed or took too long (a shard restarting) rather than voted.
 */
export type AbortCause = 'funds' | 'locked' | 'lock-timeout' | 'wounded' | 'no-account' | 'aborted' | 'shard-died' | 'timeout' | 'error';

/** A shard's answer to a prepare; `waitedMs`: how long it waited for the account's lock, if at all. */
export type Vote = ({ vote: 'yes' } | { vote: 'no'; cause: AbortCause }) & { waitedMs?: number };

export type Decision = 'commit' | 'abort';

// ---- log records ----

export type ShardRecord =
  | { t: 'init'; balances: Record<string, number> }
  | { t: 'prepare'; txId: string; teller: string; account: string; delta: number; startedAt?: number }
  | { t: 'commit'; txId: string }
  | { t: 'abort'; txId: string }
  /** A decision that contradicts the shard's state; kept so the checker reports it. */
  | { t: 'anomaly'; txId: string; what: string };

export type TellerRecord =
  | { t: 'boot'; incarnation: number }
  | { t: 'commit'; txId: string; parts: Part[] }
  | { t: 'abort'; txId: string; cause: AbortCause }
  | { t: 'ack'; txId: string };

/** Transaction ids are `<teller>/<incarnation>/<counter>`: counters, unique across restarts. */
export function txIncarnation(txId: string): number {
  const parts = txId.split('/');
  return Number(parts[parts.length - 2]);
}

/** mulberry32: a tiny seeded PRNG so the transfer mix is reproducible from `seed`. */
export function createRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random transfer between accounts on two different shards (the case 2PC exists for). */
export function pickTransfer(cfg: BankConfig, rng: () => number): { from: string; to: string; amount: number } {
  const a = Math.floor(rng() * cfg.shards);
  const b = (a + 1 + Math.floor(rng() * (cfg.shards - 1))) % cfg.shards;
  const from = accountId(a, Math.floor(rng() * cfg.accountsPerShard));
  const to = accountId(b, Math.floor(rng() * cfg.accountsPerShard));
  return { from, to, amount: 1 + Math.floor(rng() * cfg.maxAmount) };
}

/** Matches convoy's `WorkerDiedError` by its stable code, without importing the runtime. */
export const isWorkerDied = (e: unknown): boolean =>
  typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'ERR_CONVOY_WORKER_DIED';
