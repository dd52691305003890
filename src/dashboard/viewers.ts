/**
 * `GET /events`: server-sent events, one `snapshot` message per reading at the pace each page asked for
 * (`?intervalMs=`, 250–10000). One timer serves every open page, and only while one is open; a page that
 * reads slower than it is sent to skips readings rather than piling them up in memory.
 */
import type { ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import { DASHBOARD_REFRESH_RANGE_MS } from '../options.js';
import type { Collector, Reading } from './collector.js';
import { eventStreamGzip } from './compression.js';
import { snapshotJson } from './snapshot-json.js';

/** Events a new page gets at once; later messages carry only what is new to it. */
const FIRST_EVENTS = 200;
/** How long the browser waits before reconnecting a dropped stream. */
const RETRY_MS = 2000;
/** How long the cluster's close waits for a last reading when the pages open have had none yet. */
const LAST_READING_WITHIN_MS = 1000;

interface Viewer {
  readonly response: ServerResponse;
  /** What messages are written to: the response, or a gzip stream piped into it. */
  readonly sink: Writable;
  readonly intervalMs: number;
  dueAt: number;
  lastSeq: number;
  blocked: boolean;
  first: boolean;
  /** It has had the cluster's last state: there is nothing more to send it. */
  hadLast: boolean;
}

/** The headers of an event stream (`/events`). */
export function eventStreamHeaders(gzip: boolean): Record<string, string> {
  return {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-store',
    Connection: 'keep-alive',
    // Gzipped or not by the request's Accept-Encoding, as every other answer (server.ts, send).
    Vary: 'Accept-Encoding',
    ...(gzip ? { 'Content-Encoding': 'gzip' } : {}),
  };
}

export class Viewers {
  readonly #collector: Collector;
  readonly #viewers = new Set<Viewer>();
  #timer: NodeJS.Timeout | undefined;
  #ticking = false;
  #closed = false;

  constructor(collector: Collector) {
    this.#collector = collector;
  }

  get size(): number {
    return this.#viewers.size;
  }

  /** The pace asked for in `?intervalMs=`, within range, or `fallbackMs`. */
  static intervalOf(url: URL, fallbackMs: number): number {
    const asked = Number(url.searchParams.get('intervalMs'));
    if (!Number.isFinite(asked) || asked <= 0) return fallbackMs;
    return Math.min(DASHBOARD_REFRESH_RANGE_MS.max, Math.max(DASHBOARD_REFRESH_RANGE_MS.min, Math.round(asked)));
  }

  /** Streams to `response`, gzipped if `gzip` (the client accepts it). */
  add(response: ServerResponse, intervalMs: number, gzip = false): void {
    response.writeHead(200, eventStreamHeaders(gzip));
    let sink: Writable = response;
    if (gzip) {
      const compressor = eventStreamGzip();
      compressor.pipe(response);
      compressor.on('error', () => response.destroy());
      sink = compressor;
    }
    sink.write(`retry: ${RETRY_MS}\n\n`);
    const viewer: Viewer = { response, sink, intervalMs, dueAt: Date.now(), lastSeq: 0, blocked: false, first: true, hadLast: false };
    this.#viewers.add(viewer);
    sink.on('drain', () => {
      viewer.blocked = false;
    });
    response.on('close', () => {
      if (sink !== response) sink.destroy();
      this.#viewers.delete(viewer);
      if (this.#viewers.size === 0) this.#stop();
    });
    this.#schedule();
  }

  /**
   * The cluster closed (the collector is frozen): every page gets its last state, marked closed, even one
   * that reads slowly, and the timer stops. A page that reads `closed: true` stops reconnecting.
   */
  async clusterClosed(): Promise<void> {
    this.#closed = true;
    this.#stop();
    if (this.#viewers.size === 0) return;
    // Nothing read yet (a page that has only just opened): the last state is read now, if it comes soon.
    const reading = this.#collector.latest ?? (await settledWithin(this.#collector.read(), LAST_READING_WITHIN_MS));
    if (reading) for (const viewer of this.#viewers) this.#send(viewer, reading, true);
  }

  /**
   * Ends every stream (the server is closing), once what was written to it has gone out: settles when
   * every one has, or after `withinMs` (a page that stopped reading is not waited for).
   */
  async endAll(withinMs: number): Promise<void> {
    this.#stop();
    const viewers = [...this.#viewers];
    this.#viewers.clear();
    const ended = viewers.map(({ response, sink }) => {
      const done = new Promise<void>((resolve) => {
        if (response.writableFinished || response.destroyed) return resolve();
        response.once('finish', () => resolve());
        response.once('close', () => resolve());
      });
      sink.end();
      return done;
    });
    await settledWithin(Promise.all(ended), withinMs);
  }

  #stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    if (this.#ticking || this.#viewers.size === 0) return;
    this.#stop();
    let dueAt = Number.POSITIVE_INFINITY;
    for (const viewer of this.#viewers) dueAt = Math.min(dueAt, viewer.dueAt);
    this.#timer = setTimeout(() => void this.#tick(), Math.max(0, dueAt - Date.now()));
  }

  async #tick(): Promise<void> {
    this.#timer = undefined;
    this.#ticking = true;
    try {
      const now = Date.now();
      const due = [...this.#viewers].filter((viewer) => viewer.dueAt <= now + 5);
      if (due.length === 0) return;
      // Half the fastest pace: two pages a little out of step share one reading.
      const maxAgeMs = Math.min(...due.map((viewer) => viewer.intervalMs)) / 2;
      const read = await this.#collector.read(this.#closed ? Number.POSITIVE_INFINITY : maxAgeMs);
      // The cluster closed while this was read: its last state, not an earlier one, is what is sent.
      const reading = this.#closed ? (this.#collector.latest ?? read) : read;
      const sentAt = Date.now();
      for (const viewer of due) {
        if (!this.#viewers.has(viewer)) continue;
        this.#send(viewer, reading);
        viewer.dueAt = Math.max(viewer.dueAt + viewer.intervalMs, sentAt + viewer.intervalMs / 2);
      }
    } catch {
      // A reading that failed (the cluster closing under it) is skipped; the next tick tries again.
    } finally {
      this.#ticking = false;
      if (!this.#closed) this.#schedule();
    }
  }

  /** Sends `reading` to `viewer`: not while it has yet to take the last one sent (unless `always`), nor after the last state. */
  #send(viewer: Viewer, reading: Reading, always = false): void {
    if ((viewer.blocked && !always) || viewer.hadLast) return;
    viewer.hadLast = reading.closed;
    const events = this.#collector.events.since(viewer.lastSeq, viewer.first ? FIRST_EVENTS : undefined);
    const json = snapshotJson(reading, {
      refreshMs: viewer.intervalMs,
      events,
      ...(viewer.first ? { history: this.#collector.history } : {}),
    });
    viewer.first = false;
    viewer.lastSeq = this.#collector.events.lastSeq;
    viewer.blocked = !viewer.sink.write(`event: snapshot\ndata: ${json}\n\n`);
  }
}

/** What `promise` resolves to, or undefined if it rejects or takes longer than `ms`. */
async function settledWithin<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise.catch(() => undefined), late]);
  } finally {
    clearTimeout(timer);
  }
}
