// Reading a teller's decision log. One replay rule shared by the teller's own recovery, a shard
// deciding from the file of a teller that is gone, and the checker — so all three always agree on
// which transactions committed.
import type { AbortCause, Decision, Part, TellerRecord } from './config.js';
import { txIncarnation } from './config.js';

export interface Decisions {
  /** Highest incarnation that booted; the next one is this + 1. */
  incarnation: number;
  committed: Map<string, Part[]>;
  /** Aborts are logged for the report only: under presumed abort, a missing record means abort. */
  aborted: Map<string, AbortCause>;
  /** Committed but not yet known to be durable on both shards: re-sent after a restart. */
  unacked: Set<string>;
}

export function replayDecisions(records: readonly TellerRecord[]): Decisions {
  const d: Decisions = { incarnation: 0, committed: new Map(), aborted: new Map(), unacked: new Set() };
  for (const r of records) {
    switch (r.t) {
      case 'boot':
        d.incarnation = Math.max(d.incarnation, r.incarnation);
        break;
      case 'commit':
        // A commit written by an incarnation older than one that already booted is a write that
        // landed after its writer died (a terminated thread's in-flight I/O). Its fsync never
        // returned, so no shard was told; the incarnation that booted did not see it either. Ignore.
        if (txIncarnation(r.txId) < d.incarnation) break;
        d.committed.set(r.txId, r.parts);
        d.unacked.add(r.txId);
        break;
      case 'abort':
        d.aborted.set(r.txId, r.cause);
        break;
      case 'ack':
        d.unacked.delete(r.txId);
        break;
    }
  }
  return d;
}

/** Presumed abort: the outcome is commit only if a commit decision was logged. */
export const decisionOf = (d: Decisions, txId: string): Decision => (d.committed.has(txId) ? 'commit' : 'abort');
