/**
 * gzip for the dashboard's answers, when the client accepts it (every browser does). A large mesh's
 * messages are rows that repeat their keys and much of their values: with 64 threads and every pair open,
 * one reading is ~800 KB of JSON and ~20 KB gzipped at level 1 (40×), which is what decides whether a page
 * opened from another machine keeps up. zlib does the work on libuv's thread pool, off the coordinator's
 * thread, which also carries the cluster's calls.
 */
import { promisify } from 'node:util';
import { constants, createGzip, gzip, type Gzip } from 'node:zlib';

/** The fastest level: at these ratios a higher one saves little (level 6: 47× instead of 40×) for more CPU. */
export const GZIP_LEVEL = 1;
/** Answers smaller than this go as they are. */
const MIN_BYTES = 1024;

const gzipAsync = promisify(gzip);

/** Whether an `Accept-Encoding` header accepts gzip (`gzip`, not refused with `;q=0`). */
export function acceptsGzip(header: string | undefined): boolean {
  for (const part of (header ?? '').split(',')) {
    const [coding, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    if (coding !== 'gzip') continue;
    const quality = params.find((p) => p.startsWith('q='));
    return quality === undefined || Number(quality.slice(2)) > 0;
  }
  return false;
}

/** A body as sent: gzipped when the client accepts it and it is worth it. */
export async function encodeBody(body: string | Buffer, gzipAccepted: boolean): Promise<{ body: string | Buffer; gzipped: boolean }> {
  if (!gzipAccepted || Buffer.byteLength(body) < MIN_BYTES) return { body, gzipped: false };
  return { body: await gzipAsync(body, { level: GZIP_LEVEL }), gzipped: true };
}

/**
 * A gzip stream for server-sent events: each write is flushed to a byte boundary (Z_SYNC_FLUSH), so the
 * page can decode a message as soon as it is sent, while the window carries over from message to message.
 */
export function eventStreamGzip(): Gzip {
  return createGzip({ level: GZIP_LEVEL, flush: constants.Z_SYNC_FLUSH });
}
