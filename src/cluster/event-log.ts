/**
 * What happened to the workers, newest last: the cluster's own events (ready, exit, restart), hangs, and
 * the faults a dashboard finds in the counters. A bounded ring, so a long run keeps its recent past, plus
 * running tallies that never drop anything (deaths by reason, restarts), for metrics.
 */
import { errorHeadline } from '../errors.js';
import type { WorkerExitEvent, WorkerReadyEvent, WorkerRestartEvent } from './types.js';

export type ClusterLogEventType = 'ready' | 'exit' | 'restart' | 'hung' | 'fault';

export interface ClusterLogEvent {
  /** Increases by one per event, from 1: "everything after seq n" is how a reader catches up. */
  seq: number;
  /** Wall-clock time, ms since the epoch. */
  at: number;
  type: ClusterLogEventType;
  worker: string;
  incarnation?: number;
  kind?: 'thread' | 'process';
  pid?: number;
  threadId?: number;
  /** exit: why; restarting says whether a new incarnation follows. */
  reason?: string;
  exitCode?: number;
  signal?: string;
  /** exit, for a crash: the uncaught error, as `Name: message`. */
  error?: string;
  restarting?: boolean;
  /** restart: restarts of this worker so far. */
  restarts?: number;
  /** fault: how many calls from `from` to `worker` failed in its handler since the previous reading. */
  count?: number;
  from?: string;
}

type NewEvent = Omit<ClusterLogEvent, 'seq' | 'at'>;

/** Events kept for reading; older ones are dropped (the tallies keep counting). */
const CAPACITY = 1000;

export class EventLog {
  readonly #events: ClusterLogEvent[] = [];
  #seq = 0;
  /** Deaths by worker and reason, and restarts by worker, since the cluster started. */
  readonly deaths = new Map<string, Map<string, number>>();
  readonly restarts = new Map<string, number>();
  /** Per channel (from, to): the fault count up to which faults are logged, and of which generation. */
  readonly #faultsLogged = new Map<string, { generation: string; faults: number; askedAt: number }>();
  #faultsWatched = false;

  get lastSeq(): number {
    return this.#seq;
  }

  add(event: NewEvent): ClusterLogEvent {
    const entry: ClusterLogEvent = { seq: ++this.#seq, at: Date.now(), ...event };
    this.#events.push(entry);
    if (this.#events.length > CAPACITY) this.#events.splice(0, this.#events.length - CAPACITY);
    if (event.type === 'exit') {
      const byReason = this.deaths.get(event.worker) ?? new Map<string, number>();
      byReason.set(event.reason!, (byReason.get(event.reason!) ?? 0) + 1);
      this.deaths.set(event.worker, byReason);
    } else if (event.type === 'restart') this.restarts.set(event.worker, (this.restarts.get(event.worker) ?? 0) + 1);
    return entry;
  }

  /**
   * Logs the faults that channel `from → to` (of `generation`, counted from its start) shows beyond those
   * already logged, once, whichever dashboard of the cluster reads them first: each reads on its own
   * schedule, and logging its own differences, two of them logged every fault twice. Until a dashboard
   * has read the cluster once (`faultsWatched()`), a channel's faults only set its mark: they came before
   * anyone watched. `askedAt` (performance.now()) is when the reading was asked for: one asked before the
   * mark's, answered after it, is older news and changes nothing; fewer faults in a later one is a new
   * channel, counting from zero.
   */
  noteFaults(from: string, to: string, generation: string, faults: number, askedAt: number): void {
    const key = `${from}\0${to}`;
    const logged = this.#faultsLogged.get(key);
    if (logged !== undefined && askedAt < logged.askedAt) return;
    const continues = logged !== undefined && logged.generation === generation && logged.faults <= faults;
    const fresh = continues ? faults - logged.faults : faults;
    if (continues && fresh === 0) return;
    this.#faultsLogged.set(key, { generation, faults, askedAt });
    if (fresh > 0 && this.#faultsWatched) this.add({ type: 'fault', worker: to, from, count: fresh });
  }

  /** A dashboard has read every channel once: faults from now on are news (see noteFaults). */
  faultsWatched(): void {
    this.#faultsWatched = true;
  }

  /** Events with a seq above `seq`, oldest first, at most `limit` of the newest. */
  since(seq: number, limit = CAPACITY): ClusterLogEvent[] {
    const start = this.#events.findIndex((e) => e.seq > seq);
    if (start < 0) return [];
    return this.#events.slice(Math.max(start, this.#events.length - limit));
  }

  /** Records one of the cluster's own events under its log name. */
  recordClusterEvent(name: string, event: unknown): void {
    if (name === 'worker-ready') {
      const e = event as WorkerReadyEvent;
      this.add({ type: 'ready', worker: e.name, incarnation: e.incarnation, kind: e.kind, pid: e.pid, threadId: e.threadId });
    } else if (name === 'worker-restart') {
      const e = event as WorkerRestartEvent;
      this.add({
        type: 'restart',
        worker: e.name,
        incarnation: e.incarnation,
        kind: e.kind,
        pid: e.pid,
        threadId: e.threadId,
        restarts: e.restarts,
      });
    } else if (name === 'worker-exit') {
      const e = event as WorkerExitEvent;
      const entry: NewEvent = { type: 'exit', worker: e.name, incarnation: e.incarnation, reason: e.reason, restarting: e.restarting };
      if (e.exitCode !== undefined) entry.exitCode = e.exitCode;
      if (e.signal !== undefined) entry.signal = e.signal;
      if (e.error) entry.error = errorHeadline(e.error);
      this.add(entry);
    }
  }
}
