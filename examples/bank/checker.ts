// The checker: proves from the shards' final state and everyone's logs that the run kept the bank
// consistent. It trusts no single source: the tellers' decision logs say what committed, the shards'
// WALs say what each side applied, the shards' reported balances say where the money is, and every
// pair of these must agree.
import type { Part, ShardRecord, TellerRecord } from './config.js';
import { replayDecisions } from './decision-log.js';

export interface CheckInput {
  /** Every account's opening balance. */
  opening: Record<string, number>;
  /** Each shard's final state (as reported by the live shard) and its WAL. */
  shards: { name: string; balances: Record<string, number>; locks?: Record<string, string>; log: ShardRecord[] }[];
  /** Each teller's decision log. */
  tellers: { name: string; log: TellerRecord[] }[];
}

export interface Violation {
  /** The offending transaction; null when a discrepancy cannot be pinned on one (e.g. a bare balance change). */
  txId: string | null;
  what: string;
  account?: string;
}

export interface Verdict {
  ok: boolean;
  violations: Violation[];
  totals: {
    accounts: number;
    openingTotal: number;
    finalTotal: number;
    committed: number;
    /** Decided abort by a teller, or prepared on a shard and never committed (presumed abort). */
    aborted: number;
    /** Prepared on a shard with no outcome at the end: a lock that leaked. Not counted as aborted. */
    inDoubt: number;
  };
  /**
   * The aborted transfers by cause, as their tellers logged it; `teller-died` for those with no abort
   * record (prepared, then their teller died before it decided: presumed abort).
   */
  abortsByCause: Record<string, number>;
}

interface ShardView {
  prepares: Map<string, { account: string; delta: number }>;
  /** Commits the shard's replay applies (1 each), in log order. */
  commits: Map<string, number>;
  aborts: Set<string>;
  /** Commit records the shard's replay ignores: never prepared, or after an abort. */
  strayCommits: string[];
}

/**
 * A shard's log read with the shard's own replay rule (shard-state.ts): a commit applies to a prepared
 * transaction, once. A second commit record of a committed transaction is not a second application: a
 * killed incarnation's last write can land after its successor read the log, and the successor, which
 * asked the teller and was told "commit", logs the commit again. Replay applies it once, as the shard did.
 */
function viewOf(log: ShardRecord[]): ShardView {
  const v: ShardView = { prepares: new Map(), commits: new Map(), aborts: new Set(), strayCommits: [] };
  for (const r of log) {
    if (r.t === 'prepare') v.prepares.set(r.txId, { account: r.account, delta: r.delta });
    else if (r.t === 'commit') {
      if (v.commits.has(r.txId)) continue;
      if (!v.prepares.has(r.txId) || v.aborts.has(r.txId)) v.strayCommits.push(r.txId);
      else v.commits.set(r.txId, 1);
    } else if (r.t === 'abort' && !v.commits.has(r.txId)) v.aborts.add(r.txId);
  }
  return v;
}

export function check(input: CheckInput): Verdict {
  const violations: Violation[] = [];
  const flag = (txId: string | null, what: string, account?: string): void => {
    violations.push(account === undefined ? { txId, what } : { txId, what, account });
  };

  // What the coordinators decided (same replay rule as their own recovery).
  const committed = new Map<string, Part[]>();
  const aborted = new Set<string>();
  const causes = new Map<string, string>();
  for (const t of input.tellers) {
    const d = replayDecisions(t.log);
    for (const [txId, parts] of d.committed) committed.set(txId, parts);
    for (const [txId, cause] of d.aborted) {
      aborted.add(txId);
      causes.set(txId, cause);
    }
  }
  const views = new Map(input.shards.map((s) => [s.name, viewOf(s.log)]));

  // 1. Every committed transfer: balanced, and applied exactly once on each side, as prepared.
  for (const [txId, parts] of committed) {
    const sum = parts.reduce((a, p) => a + p.delta, 0);
    if (sum !== 0) flag(txId, `committed parts sum to ${sum}: money ${sum > 0 ? 'created' : 'destroyed'}`);
    const applied = parts.map((p) => views.get(p.shard)?.commits.get(txId) ?? 0);
    const missing = applied.some((n) => n > 0) ? 'half-applied' : 'lost';
    parts.forEach((p, i) => {
      const v = views.get(p.shard);
      const prep = v?.prepares.get(txId);
      const n = applied[i]!;
      if (!v) flag(txId, `committed, but no log from ${p.shard}`, p.account);
      else if (!prep) flag(txId, `committed, but never prepared on ${p.shard}`, p.account);
      else if (prep.account !== p.account || prep.delta !== p.delta) {
        flag(txId, `prepared on ${p.shard} as ${prep.account} ${prep.delta}, committed as ${p.account} ${p.delta}`, p.account);
      } else if (n === 0) flag(txId, `${missing}: committed, but not applied on ${p.shard}`, p.account);
      if (n > 1) flag(txId, `applied ${n} times on ${p.shard}`, p.account);
    });
  }

  // 2. Nothing applied that was not committed; nothing left undecided; shard-side anomalies.
  const inDoubt = new Set<string>();
  for (const s of input.shards) {
    const v = views.get(s.name)!;
    for (const [txId, prep] of v.prepares) {
      if (!committed.has(txId)) aborted.add(txId); // presumed abort
      if (!v.commits.has(txId) && !v.aborts.has(txId)) {
        inDoubt.add(txId);
        flag(txId, `in doubt at the end on ${s.name}: prepared, never decided (lock leaked)`, prep.account);
      }
    }
    for (const txId of v.commits.keys()) {
      if (!committed.has(txId)) flag(txId, `applied on ${s.name}, but its teller never committed it`, v.prepares.get(txId)?.account);
    }
    for (const txId of v.strayCommits) flag(txId, `a commit record on ${s.name} its replay ignores (not prepared, or aborted)`);
    for (const r of s.log) if (r.t === 'anomaly') flag(r.txId, `${s.name} reported: ${r.what}`);
    for (const [account, txId] of Object.entries(s.locks ?? {})) {
      if (v.prepares.has(txId) && !v.commits.has(txId) && !v.aborts.has(txId)) continue; // flagged above
      flag(txId, `${s.name} still holds the lock on ${account}`, account);
    }
  }

  // 3. Balances: replay each shard's WAL in order. The commit that drives an account below zero
  // is the offender; the final balance must equal opening + committed deltas, and what the log rebuilds
  // (from its init record, which must be the opening balances): a shard whose memory and log disagree
  // would come back from its next restart with other balances.
  const expected = new Map(Object.entries(input.opening));
  for (const parts of committed.values()) {
    for (const p of parts) expected.set(p.account, (expected.get(p.account) ?? 0) + p.delta);
  }
  const seen = new Set<string>();
  for (const s of input.shards) {
    const v = views.get(s.name)!;
    const running = new Map<string, number>();
    const applied = new Set<string>();
    for (const r of s.log) {
      if (r.t === 'init') {
        for (const [a, b] of Object.entries(r.balances)) {
          if (input.opening[a] !== b) flag(null, `${s.name}'s log opens ${a} at ${b}, not at its opening balance ${input.opening[a]}`, a);
          running.set(a, b);
        }
      }
      if (r.t !== 'commit' || !v.commits.has(r.txId) || applied.has(r.txId)) continue;
      applied.add(r.txId);
      const { account, delta } = v.prepares.get(r.txId)!;
      const after = (running.get(account) ?? 0) + delta;
      if (after < 0 && (running.get(account) ?? 0) >= 0) flag(r.txId, `drove ${account} negative (${after})`, account);
      running.set(account, after);
    }
    for (const [account, balance] of Object.entries(s.balances)) {
      seen.add(account);
      if (balance < 0) flag(null, `negative final balance ${balance}`, account);
      const want = expected.get(account);
      if (want === undefined) flag(null, `unknown account with balance ${balance} on ${s.name}`, account);
      else if (balance !== want) {
        flag(null, `balance ${balance} on ${s.name}, but opening + committed transfers give ${want}`, account);
      }
      if (running.get(account) !== balance) {
        flag(null, `balance ${balance} on ${s.name}, but its log rebuilds ${running.get(account)}`, account);
      }
    }
  }
  for (const account of Object.keys(input.opening)) {
    if (!seen.has(account)) flag(null, 'account missing from every shard', account);
  }

  const openingTotal = sum(Object.values(input.opening));
  const finalTotal = sum(input.shards.flatMap((s) => Object.values(s.balances)));
  if (finalTotal !== openingTotal) flag(null, `total balance changed from ${openingTotal} to ${finalTotal}`);

  const abortedOnly = [...aborted].filter((t) => !committed.has(t) && !inDoubt.has(t));
  const abortsByCause: Record<string, number> = {};
  for (const txId of abortedOnly) {
    const cause = causes.get(txId) ?? 'teller-died';
    abortsByCause[cause] = (abortsByCause[cause] ?? 0) + 1;
  }
  return {
    ok: violations.length === 0,
    violations,
    totals: {
      accounts: Object.keys(input.opening).length,
      openingTotal,
      finalTotal,
      committed: committed.size,
      aborted: abortedOnly.length,
      inDoubt: inDoubt.size,
    },
    abortsByCause,
  };
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
