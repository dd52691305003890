/**
 * Plain HTTP for the dashboard tests, one connection per request (no keep-alive pool left open), and a
 * reader of server-sent events. A gzipped answer (asked for with `accept-encoding`) is decoded, and says
 * so in `headers`.
 */
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { withDeadline } from './deadline.js';

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** Its size on the wire (before gunzip). */
  wireBytes: number;
}

/** The answer's body as sent before any gzip, and a count of the bytes as they came. */
function decoded(res: IncomingMessage, bodiless = false): { body: Readable; wireBytes: () => number } {
  let wire = 0;
  res.on('data', (chunk: Buffer | string) => {
    wire += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
  });
  // The answer to a HEAD has the headers of a gzipped body, and no body to gunzip.
  if (res.headers['content-encoding'] !== 'gzip' || bodiless) return { body: res, wireBytes: () => wire };
  const gunzip = createGunzip();
  res.pipe(gunzip);
  return { body: gunzip, wireBytes: () => wire };
}

export function request(url: string | URL, options: { method?: string; headers?: Record<string, string> } = {}): Promise<HttpAnswer> {
  return withDeadline(
    new Promise<HttpAnswer>((resolve, reject) => {
      const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
        const { body, wireBytes } = decoded(res, options.method === 'HEAD');
        const chunks: Buffer[] = [];
        body.on('data', (chunk: Buffer) => chunks.push(chunk));
        body.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), wireBytes: wireBytes() }),
        );
        body.on('error', reject);
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    }),
    10_000,
    `${options.method ?? 'GET'} ${url}`,
  );
}

/** The first `count` server-sent events of `url` (name and parsed data), then the connection is closed. */
export function readEvents(
  url: string | URL,
  count: number,
  headers: Record<string, string>,
  ms = 15_000,
): Promise<{ event: string; data: unknown }[]> {
  const events: { event: string; data: unknown }[] = [];
  let close = (): void => {};
  const reading = new Promise<{ event: string; data: unknown }[]>((resolve, reject) => {
    const req = httpRequest(url, { headers, agent: false }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`GET ${url}: ${res.statusCode}`));
      let buffer = '';
      const { body } = decoded(res);
      body.setEncoding('utf8');
      body.on('error', (error) => {
        if (events.length < count) reject(error);
      });
      body.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) events.push({ event, data: JSON.parse(data) });
          if (events.length >= count) {
            req.destroy();
            resolve(events);
            return;
          }
        }
      });
    });
    req.on('error', (error) => {
      if (events.length < count) reject(error);
    });
    close = () => req.destroy();
    req.end();
  });
  return withDeadline(reading, ms, `${count} events from ${url}`).finally(close);
}

/**
 * Every sample of a Prometheus text exposition, checked line by line against the format: comments are
 * `# HELP name text` or `# TYPE name type`, samples `name{label="value",...} number`. Throws on any other line.
 */
export function parsePrometheus(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
  const typed = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const comment = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (comment) {
      if (comment[1] === 'TYPE') {
        if (!/^(counter|gauge|histogram|summary|untyped)$/.test(comment[3]!)) throw new Error(`Bad TYPE line: ${line}`);
        typed.add(comment[2]!);
      }
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$/.exec(line);
    if (!sample) throw new Error(`Not a Prometheus sample: ${line}`);
    const labels: Record<string, string> = {};
    const labelPattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/gy;
    const labelText = sample[2] ?? '';
    let consumed = 0;
    for (let m = labelPattern.exec(labelText); m; m = labelPattern.exec(labelText)) {
      labels[m[1]!] = m[2]!;
      consumed = labelPattern.lastIndex;
    }
    if (consumed !== labelText.length) throw new Error(`Bad labels: ${line}`);
    const name = sample[1]!;
    const family = name.replace(/_(bucket|sum|count)$/, '');
    if (!typed.has(name) && !typed.has(family)) throw new Error(`Sample before its TYPE line: ${line}`);
    samples.push({ name, labels, value: Number(sample[3]) });
  }
  return samples;
}
