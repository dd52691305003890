/**
 * Turns `cluster.stats()` readings into what the dashboard shows: rates per channel and worker, cluster
 * totals, a bounded history, fault events, and the totals /metrics exports. It reads only when asked (a
 * page streaming, a snapshot, a scrape): a cluster nobody watches pays nothing. Concurrent askers share
 * one reading.
 */
import { hostname } from 'node:os';
import type { EventLog } from '../cluster/event-log.js';
import type { ClusterStats } from '../cluster/stats.js';
import { readProcessHealth } from '../worker/process-health.js';
import { pairKey, readChannels, type ChannelReading } from './channels.js';
import { LatencyBook } from './latency-book.js';
import { SNAPSHOT_VERSION, type DashboardSnapshot, type HistoryPoint, type PairRow, type PoolRow, type WorkerRow } from './snapshot.js';

/** What the dashboard watches: a cluster's stats and its event log. */
export interface DashboardSource {
  stats(): Promise<ClusterStats>;
  readonly events: EventLog;
}

/** One reading: the snapshot without the parts that depend on the reader (events seen, history, pace). */
export type Reading = Omit<DashboardSnapshot, 'events' | 'history' | 'refreshMs'>;

/** Monotonic totals of one direction since the dashboard first read it, across restarts. */
export interface PairTotals {
  from: string;
  to: string;
  calls: number;
  notifies: number;
  faults: number;
  bytes: number;
}

export class Collector {
  readonly #source: DashboardSource;
  readonly #historyMs: number;
  readonly #host = hostname();
  readonly latency = new LatencyBook();
  readonly pairTotals = new Map<string, PairTotals>();
  /** Each open channel's last reading, and when it was taken: a worker that misses a reading keeps its own. */
  readonly #previous = new Map<string, { channel: ChannelReading; at: number }>();
  readonly #history: HistoryPoint[] = [];
  #latest: Reading | undefined;
  #reading: Promise<Reading> | undefined;
  #lastDeathSeq = 0;
  /** Workers whose exit said no restart follows, as of event `#endsSeq` (read at each reading: the log is a ring). */
  readonly #ended = new Set<string>();
  #endsSeq = 0;
  #closed = false;

  constructor(source: DashboardSource, historyMs: number) {
    this.#source = source;
    this.#historyMs = historyMs;
  }

  get latest(): Reading | undefined {
    return this.#latest;
  }

  get history(): HistoryPoint[] {
    return this.#history;
  }

  get events(): EventLog {
    return this.#source.events;
  }

  /** The latest reading if it is younger than `maxAgeMs` (or the cluster has closed), else a new one. */
  read(maxAgeMs = 0): Promise<Reading> {
    const latest = this.#latest;
    if (latest && (this.#closed || Date.now() - latest.at < maxAgeMs)) return Promise.resolve(latest);
    this.#reading ??= this.#take().finally(() => {
      this.#reading = undefined;
    });
    return this.#reading;
  }

  /**
   * The cluster has closed: the latest reading stays as its last state (or, if nothing was read yet, the
   * next one is it), with its workers closed (they were stopped with it) unless dead, so that neither the
   * page nor a scrape of `/metrics` shows a worker still up after the cluster has closed. Its rates and
   * figures stay what they last were.
   */
  freeze(): void {
    this.#closed = true;
    if (this.#latest) this.#latest = this.#final(this.#latest);
  }

  /**
   * `reading` as the cluster's last state. A worker is dead in it if it was in the reading or has died
   * for good since (its exit in the event log says no restart follows): the reading may predate the
   * death, and one read after the close has every worker closed, the dead ones included.
   */
  #final(reading: Reading): Reading {
    this.#readEnds();
    const workers = reading.workers.map(
      (w): WorkerRow => ({ ...w, state: w.state === 'dead' || this.#ended.has(w.name) ? 'dead' : 'closed', inFlight: 0, queuedBytes: 0 }),
    );
    // Its channels closed with it: nothing is in flight, queued or waiting on them any more (the gauges of
    // /metrics say so); their totals and rates stay.
    const zero = (gauge: number | null): number | null => (gauge === null ? null : 0);
    const pairs = reading.pairs.map((pair) => ({
      ...pair,
      inFlight: zero(pair.inFlight),
      queuedBytes: zero(pair.queuedBytes),
      waiting: zero(pair.waiting),
    }));
    // The pool closed with it too: no threads, nothing queued; its tasks done stay.
    const pool = reading.cluster.pool && { ...reading.cluster.pool, threads: 0, queued: 0, tasksPerSec: 0 };
    return { ...reading, closed: true, workers, pairs, cluster: { ...reading.cluster, workers: countByState(workers), pool } };
  }

  /** The pool's row: its own stats, and the tasks it did a second since the last reading. */
  #poolRow(pool: ClusterStats['pool'], elapsedMs: number): PoolRow | null {
    if (pool === undefined) return null;
    const before = this.#latest?.cluster.pool?.completed;
    const done = before === undefined ? 0 : Math.max(0, pool.completed - before);
    return { threads: pool.threads, queued: pool.queued, completed: pool.completed, tasksPerSec: perSecond(done, elapsedMs) };
  }

  /** Follows the event log's exits and restarts: which workers have died for good. */
  #readEnds(): void {
    const log = this.#source.events;
    for (const event of log.since(this.#endsSeq)) {
      if (event.type === 'exit' && event.restarting === false) this.#ended.add(event.worker);
      else if (event.type === 'restart' || event.type === 'ready') this.#ended.delete(event.worker);
    }
    this.#endsSeq = log.lastSeq;
  }

  async #take(): Promise<Reading> {
    // When it was asked for: a reading asked earlier can come back after a later one (another dashboard's).
    const askedAt = performance.now();
    const stats = await this.#source.stats();
    if (this.#closed && this.#latest) return this.#latest;
    const coordinator = readProcessHealth();
    const at = Date.now();
    const elapsedMs = this.#latest ? Math.max(1, at - this.#latest.at) : 0;
    const channels = readChannels(stats);
    const pairs = channels.map((channel) => this.#pairRow(channel, at, elapsedMs, askedAt));
    this.#source.events.faultsWatched();
    // A channel missing from this reading has closed, unless its worker did not answer in time (busy, or
    // slow to be scheduled): then it is still open, and its next reading counts from the last one.
    const open = new Set(channels.map((c) => pairKey(c.from, c.to)));
    const unread = new Set(stats.workers.filter((w) => w.process === undefined).map((w) => w.name));
    for (const [key, { channel }] of this.#previous) if (!open.has(key) && !unread.has(channel.from)) this.#previous.delete(key);
    this.latency.ingest(channels, at, elapsedMs);

    // Each worker's rows out and in, in one pass: a full mesh of 64 has 4000 rows to share among them.
    const rowsOf = new Map(stats.workers.map((w) => [w.name, { from: [] as PairRow[], to: [] as PairRow[] }]));
    for (const pair of pairs) {
      rowsOf.get(pair.from)?.from.push(pair);
      rowsOf.get(pair.to)?.to.push(pair);
    }
    const sum = (rows: PairRow[], field: 'callsPerSec' | 'notifiesPerSec' | 'bytesPerSec' | 'inFlight' | 'queuedBytes') => {
      let total = 0;
      for (const row of rows) total += row[field] ?? 0;
      return total;
    };
    const workers = stats.workers.map((w): WorkerRow => {
      const { from, to } = rowsOf.get(w.name)!;
      return {
        name: w.name,
        spec: w.spec,
        kind: w.kind,
        host: (w as { host?: string }).host ?? this.#host,
        pid: w.pid,
        threadId: w.threadId,
        state: w.state,
        incarnation: w.incarnation,
        restarts: w.restarts,
        answered: w.process !== undefined,
        callsInPerSec: sum(to, 'callsPerSec'),
        callsOutPerSec: sum(from, 'callsPerSec'),
        notifiesInPerSec: sum(to, 'notifiesPerSec'),
        notifiesOutPerSec: sum(from, 'notifiesPerSec'),
        bytesPerSec: sum(from, 'bytesPerSec') + sum(to, 'bytesPerSec'),
        inFlight: sum(from, 'inFlight'),
        queuedBytes: sum(from, 'queuedBytes'),
        eventLoopDelayMs: w.process?.eventLoopDelayMs ?? null,
        heapUsedBytes: w.process?.heapUsedBytes ?? null,
      };
    });

    const total = (field: 'callsPerSec' | 'notifiesPerSec' | 'bytesPerSec' | 'faultsPerSec') => pairs.reduce((t, p) => t + p[field], 0);
    const log = this.#source.events;
    const count = (tally: Iterable<number>) => [...tally].reduce((t, n) => t + n, 0);
    const point: HistoryPoint = {
      at,
      callsPerSec: total('callsPerSec'),
      notifiesPerSec: total('notifiesPerSec'),
      bytesPerSec: total('bytesPerSec'),
      faultsPerSec: total('faultsPerSec'),
      deaths: log.since(this.#lastDeathSeq).filter((e) => e.type === 'exit').length,
    };
    this.#lastDeathSeq = log.lastSeq;
    // The first reading has no rates: it is where they start from, not a point of the series.
    if (elapsedMs > 0) this.#history.push(point);
    while (this.#history.length > 0 && this.#history[0]!.at < at - this.#historyMs) this.#history.shift();

    this.#readEnds();
    let reading: Reading = {
      version: SNAPSHOT_VERSION,
      at,
      intervalMs: elapsedMs,
      closed: this.#closed,
      cluster: {
        workers: countByState(workers),
        callsPerSec: point.callsPerSec,
        notifiesPerSec: point.notifiesPerSec,
        bytesPerSec: point.bytesPerSec,
        faultsPerSec: point.faultsPerSec,
        faults: count([...this.pairTotals.values()].map((p) => p.faults)),
        deaths: count([...log.deaths.values()].flatMap((byReason) => [...byReason.values()])),
        restarts: count(log.restarts.values()),
        pool: this.#poolRow(stats.pool, elapsedMs),
      },
      coordinator: { eventLoopDelayMs: coordinator.eventLoopDelayMs, heapUsedBytes: coordinator.heapUsedBytes },
      workers,
      pairs,
      latency: this.latency.rows(),
    };
    // The cluster closed while this was read, and nothing was read before: this is its last state.
    if (this.#closed) reading = this.#final(reading);
    this.#latest = reading;
    return reading;
  }

  /**
   * One direction's rates since it was last read — the reading before, or an earlier one if its worker
   * missed some — or over `elapsedMs` for a channel read for the first time. (The counters hold no
   * convoy-internal calls, so neither do the rates.)
   */
  #pairRow(channel: ChannelReading, at: number, elapsedMs: number, askedAt: number): PairRow {
    const key = pairKey(channel.from, channel.to);
    const last = this.#previous.get(key);
    const previous = last?.channel;
    // A new incarnation at either end is a new channel, counting from zero. The incarnation is counted up
    // as a restart begins, while the old channel may still be read: a counter that went down says so too.
    const continues =
      previous !== undefined &&
      previous.generation === channel.generation &&
      previous.calls <= channel.calls &&
      previous.notifies <= channel.notifies &&
      previous.faults <= channel.faults &&
      previous.bytes <= channel.bytes;
    const overMs = last && elapsedMs > 0 ? Math.max(1, at - last.at) : elapsedMs;
    const calls = continues ? channel.calls - previous.calls : channel.calls;
    const notifies = continues ? channel.notifies - previous.notifies : channel.notifies;
    const faults = continues ? channel.faults - previous.faults : channel.faults;
    const bytes = continues ? channel.bytes - previous.bytes : channel.bytes;
    if (last) {
      last.channel = channel;
      last.at = at;
    } else this.#previous.set(key, { channel, at });
    let totals = this.pairTotals.get(key);
    if (!totals) this.pairTotals.set(key, (totals = { from: channel.from, to: channel.to, calls: 0, notifies: 0, faults: 0, bytes: 0 }));
    totals.calls += calls;
    totals.notifies += notifies;
    totals.faults += faults;
    totals.bytes += bytes;
    this.#source.events.noteFaults(channel.from, channel.to, channel.generation, channel.faults, askedAt);
    return {
      from: channel.from,
      to: channel.to,
      callsPerSec: perSecond(calls, overMs),
      notifiesPerSec: perSecond(notifies, overMs),
      faultsPerSec: perSecond(faults, overMs),
      bytesPerSec: perSecond(bytes, overMs),
      calls: channel.calls,
      notifies: channel.notifies,
      faults: channel.faults,
      bytes: channel.bytes,
      inFlight: channel.inFlight,
      queuedBytes: channel.queuedBytes,
      waiting: channel.waiting,
    };
  }
}

function perSecond(count: number, overMs: number): number {
  return overMs > 0 ? (count * 1000) / overMs : 0;
}

/** Workers by state, every state named (ready, starting, restarting, dead, closed), for the summary. */
function countByState(workers: readonly WorkerRow[]): Record<string, number> {
  const byState: Record<string, number> = { ready: 0, starting: 0, restarting: 0, dead: 0, closed: 0 };
  for (const w of workers) byState[w.state] = (byState[w.state] ?? 0) + 1;
  return byState;
}
