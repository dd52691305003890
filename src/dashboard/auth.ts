/**
 * Who may read the dashboard: whoever holds its token. A request carries it as `?token=` (the address
 * the user was given; it also sets a cookie, so the page's own requests need nothing more), as that
 * cookie, or as `Authorization: Bearer <token>` (a Prometheus scraper). Anything else gets 401 and an
 * empty body.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export function randomToken(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * One cookie name per port: cookies are kept per host, not per port, so two dashboards on one machine
 * would otherwise overwrite each other's.
 */
export function cookieName(port: number): string {
  return `convoy-dashboard-${port}`;
}

export class TokenCheck {
  readonly token: string;
  readonly #digest: Buffer;
  readonly #cookie: string;

  constructor(token: string, port: number) {
    this.token = token;
    this.#digest = digest(token);
    this.#cookie = cookieName(port);
  }

  /** The `Set-Cookie` value that lets a browser's later requests in. */
  get setCookie(): string {
    return `${this.#cookie}=${this.token}; HttpOnly; SameSite=Strict; Path=/`;
  }

  /**
   * Whether `request` carries the token, and how: 'query' asks for the cookie to be set. Compared in
   * constant time (over digests, so the lengths match too).
   */
  check(request: IncomingMessage, url: URL): 'query' | 'cookie' | 'header' | undefined {
    const fromQuery = url.searchParams.get('token');
    if (fromQuery !== null) return this.#matches(fromQuery) ? 'query' : undefined;
    const authorization = request.headers.authorization;
    if (authorization?.startsWith('Bearer ')) return this.#matches(authorization.slice(7).trim()) ? 'header' : undefined;
    const fromCookie = readCookie(request.headers.cookie, this.#cookie);
    if (fromCookie !== undefined) return this.#matches(fromCookie) ? 'cookie' : undefined;
    return undefined;
  }

  #matches(candidate: string): boolean {
    return timingSafeEqual(digest(candidate), this.#digest);
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
