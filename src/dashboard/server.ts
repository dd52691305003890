/**
 * The dashboard's HTTP server (node:http): the page, `GET /api/snapshot`, `GET /events` (server-sent
 * events) and `GET /metrics` (Prometheus). Read-only, no CORS, every request checked for the token; it
 * binds 127.0.0.1 unless told otherwise. Answers are gzipped for clients that accept it (compression.ts).
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { Registry } from 'prom-client';
import { namedError } from '../named-error.js';
import type { FilledDashboardOptions } from '../options.js';
import { TokenCheck, randomToken } from './auth.js';
import { Collector, type DashboardSource } from './collector.js';
import { acceptsGzip, encodeBody } from './compression.js';
import { createMetrics } from './metrics.js';
import { snapshotJson } from './snapshot-json.js';
import { staticFiles } from './static-files.js';
import { Viewers, eventStreamHeaders } from './viewers.js';

/** A running dashboard: where to open it, and how to stop it. */
export interface DashboardServer {
  /** The page's address, with its token: `http://127.0.0.1:8787/?token=…`. */
  readonly url: string;
  /** Stops serving: open pages see the stream end. Idempotent. */
  close(): Promise<void>;
}

/** How old a reading `/api/snapshot` and `/metrics` may reuse: a page streaming at 250 ms shares its readings. */
const REUSE_READING_MS = 250;
/** How long close() lets the open streams take their last message before their connections are cut. */
const END_STREAMS_WITHIN_MS = 1000;
/** Events in a `/api/snapshot` answer. */
const SNAPSHOT_EVENTS = 200;

const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cache-Control': 'no-store',
  // uPlot sets inline styles on the elements it draws; nothing else is allowed in.
  'Content-Security-Policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
};

export class Dashboard implements DashboardServer {
  readonly url: string;
  readonly #server: Server;
  readonly #options: FilledDashboardOptions;
  readonly #tokens: TokenCheck;
  readonly #collector: Collector;
  readonly #viewers: Viewers;
  readonly #metrics: Registry;
  #closing: Promise<void> | undefined;

  private constructor(server: Server, source: DashboardSource, options: FilledDashboardOptions) {
    this.#server = server;
    this.#options = options;
    const { port } = server.address() as AddressInfo;
    this.#tokens = new TokenCheck(options.token ?? randomToken(), port);
    this.#collector = new Collector(source, options.historyMs);
    this.#viewers = new Viewers(this.#collector);
    this.#metrics = createMetrics(this.#collector);
    this.url = `http://${urlHost(options.host)}:${port}/?token=${encodeURIComponent(this.#tokens.token)}`;
    // Nothing a request does may reject unheard: an unhandled rejection would end the coordinator's process.
    server.on('request', (request, response) => this.#handle(request, response).catch(() => failed(response)));
  }

  /** Listens on the options' host and port (a free port if the default one is taken). */
  static async start(source: DashboardSource, options: FilledDashboardOptions): Promise<Dashboard> {
    const server = createServer();
    try {
      await listen(server, options.port, options.host);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || !options.portIsDefault) throw listenError(error, options.port, options);
      await listen(server, 0, options.host).catch((again: unknown) => {
        throw listenError(again, 0, options);
      });
    }
    return new Dashboard(server, source, options);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      const closed = once(this.#server, 'close');
      this.#server.close();
      // What was written to the streams (a last snapshot, marked closed) reaches the pages before their
      // connections are cut.
      await this.#viewers.endAll(END_STREAMS_WITHIN_MS);
      this.#server.closeAllConnections();
      await closed;
    })();
    return this.#closing;
  }

  /**
   * The cluster has closed: every open page gets its last state, marked closed (so it says "closed" and
   * stops reconnecting); then this dashboard closes, or with `hold` keeps that state on show. True if it
   * stays open.
   */
  async clusterClosed(): Promise<boolean> {
    this.#collector.freeze();
    await this.#viewers.clusterClosed();
    if (this.#options.hold) return true;
    await this.close();
    return false;
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(request.url ?? '/', 'http://dashboard');
    } catch {
      // Node's parser takes some targets that are no URL ('//[', a port past 65535).
      return end(response, 400);
    }
    const via = this.#tokens.check(request, url);
    if (!via) return end(response, 401);
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      return end(response, 405);
    }
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.setHeader(name, value);
    if (via === 'query') response.setHeader('Set-Cookie', this.#tokens.setCookie);
    const gzip = acceptsGzip(request.headers['accept-encoding']);
    try {
      switch (url.pathname) {
        case '/api/snapshot':
          return await send(response, 'application/json; charset=utf-8', await this.#snapshot(), gzip);
        case '/events':
          // A HEAD gets the stream's headers alone: Node sends a HEAD's headers only at its end, which a
          // stream never reaches.
          if (request.method === 'HEAD') {
            response.writeHead(200, eventStreamHeaders(gzip));
            return void response.end();
          }
          return this.#viewers.add(response, Viewers.intervalOf(url, this.#options.refreshMs), gzip);
        case '/metrics':
          await this.#collector.read(REUSE_READING_MS);
          return await send(response, this.#metrics.contentType, await this.#metrics.metrics(), gzip);
        default: {
          const file = staticFiles().get(url.pathname === '/index.html' ? '/' : url.pathname);
          if (!file) return end(response, 404);
          return await send(response, file.contentType, file.body, gzip);
        }
      }
    } catch {
      failed(response);
    }
  }

  /** `/api/snapshot`: the latest reading (or a new one), the kept events and the history, as JSON. */
  async #snapshot(): Promise<string> {
    const reading = await this.#collector.read(REUSE_READING_MS);
    const events = this.#collector.events.since(0, SNAPSHOT_EVENTS);
    return snapshotJson(reading, { refreshMs: this.#options.refreshMs, events, history: this.#collector.history });
  }
}

/**
 * A listen that failed, naming the option that made it fail (`listen EADDRINUSE` alone does not say
 * which): the port if it is taken (or not ours to take), else the host. `code`, `errno` and `syscall`
 * stay (EADDRINUSE, EADDRNOTAVAIL, ENOTFOUND…), and the original is the `cause`.
 */
function listenError(error: unknown, port: number, options: FilledDashboardOptions): Error {
  const original = error as NodeJS.ErrnoException;
  const what =
    original.code === 'EADDRINUSE' || original.code === 'EACCES'
      ? `\`dashboard.port\` ${port} on ${options.host}`
      : `\`dashboard.host\` '${options.host}' (port ${port})`;
  return namedError(what, error);
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (error: Error) => reject(error);
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      resolve();
    });
  });
}

/** How the page's address names the host: the machine's name for a wildcard bind, brackets for IPv6. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return hostname();
  return host.includes(':') ? `[${host}]` : host;
}

/** An answer with nothing in it: a 401 tells nothing but "no". */
function end(response: ServerResponse, status: number): void {
  response.writeHead(status, { 'Content-Length': 0 });
  response.end();
}

/** An answer that failed: a 500 if nothing of it has left yet, else the connection is cut. */
function failed(response: ServerResponse): void {
  if (!response.headersSent) end(response, 500);
  else response.destroy();
}

/** A whole answer, gzipped when the client accepts it and it is large enough to gain from it. */
async function send(response: ServerResponse, contentType: string, body: string | Buffer, gzip: boolean): Promise<void> {
  const encoded = await encodeBody(body, gzip);
  const headers: Record<string, string | number> = { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(encoded.body) };
  if (encoded.gzipped) headers['Content-Encoding'] = 'gzip';
  // The same address answers gzipped or not, by the request's Accept-Encoding.
  headers.Vary = 'Accept-Encoding';
  response.writeHead(200, headers);
  response.end(encoded.body);
}
