/**
 * A real `nats-server` (the Debian package) for tests and benchmarks: started on a free loopback port
 * (the server picks it: `port: -1`, read back from its log), with a token or user/password, a smaller
 * `max_payload`, or as one of a 2-server cluster joined by routes. It can be killed and started again on
 * the same port, for the server-loss tests, and is always stopped in `t.teardown()`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { withDeadline } from './deadline.js';
import { logTee } from './log-tee.js';

/** What starting something needs of a test: where its stop goes (a test's teardown, or a file's shared cleanup). */
export type Teardown = Pick<ExecutionContext, 'teardown'>;

export interface NatsServerOptions {
  token?: string;
  user?: string;
  pass?: string;
  /** The server's `max_payload`. @default the server's own (1 MiB) */
  maxPayloadBytes?: number;
  /** Serve TLS only, with this certificate and key. */
  tls?: { certFile: string; keyFile: string };
  /** Join a cluster: this server's route listener, and the route URLs of the others. */
  cluster?: { name: string; routes: string[] };
  /**
   * A client that does not read is dropped as a slow consumer once this is pending for it, or once a write
   * to it has waited `writeDeadline`. @default the server's own max_pending (64 MB), and WRITE_DEADLINE
   */
  slowConsumer?: { maxPendingBytes: number; writeDeadline: string };
}

const START_DEADLINE_MS = 10_000;
/**
 * How long the server waits on a client that does not read before it drops it as a slow consumer. Its
 * own default (10 s) is shorter than the heartbeat timeouts tests give a loaded machine: a starved worker
 * would be cut off by the server, `disconnected`, before convoy's heartbeat judged it. Longer than any
 * test, so that convoy alone judges.
 */
const WRITE_DEADLINE = '90s';
const STOP_DEADLINE_MS = 5000;

/**
 * Every server process still running, and every config directory not yet removed. A test file that
 * crashes never reaches its teardowns, and its servers would outlive it (their parent gone, nobody stops
 * them): they are killed, and their directories removed, as the process exits.
 */
const running = new Set<ChildProcess>();
const directories = new Set<string>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
  for (const dir of directories) rmSync(dir, { recursive: true, force: true });
});

export class NatsServer {
  readonly #options: NatsServerOptions;
  readonly #dir = mkdtempSync(path.join(tmpdir(), 'convoy-nats-'));
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  /** What the server logged since its last start (the first 1 MiB), and who waits for a line of it. */
  #log = '';
  #logWaiters = new Set<() => void>();
  /** Fixed after the first start, so a restart comes back where the clients look for it. */
  port = -1;
  routePort = -1;

  constructor(options: NatsServerOptions = {}) {
    this.#options = options;
    directories.add(this.#dir);
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  get routeUrl(): string {
    return `nats://127.0.0.1:${this.routePort}`;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  /** Starts the server and resolves once it accepts clients (and routes, in a cluster). */
  async start(): Promise<void> {
    if (this.#child) throw new Error('nats-server is already running');
    const config = path.join(this.#dir, 'server.conf');
    writeFileSync(config, this.#config());
    const child = spawn('nats-server', ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.#child = child;
    running.add(child);
    this.#exited = new Promise((resolve) =>
      child.once('exit', () => {
        running.delete(child);
        resolve();
      }),
    );
    let log = '';
    this.#log = '';
    const tee = logTee('nats-server', child.pid);
    const ready = new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => reject(new Error(`nats-server exited (${code ?? signal}) before it was ready:\n${log}`)));
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (chunk: string) => {
        tee(chunk);
        if (log.length < 64 << 10) log += chunk;
        if (this.#log.length < 1 << 20) this.#log += chunk;
        for (const wake of [...this.#logWaiters]) wake();
        const clients = /Listening for client connections on [^\s:]+:(\d+)/.exec(log);
        const routes = /Listening for route connections on [^\s:]+:(\d+)/.exec(log);
        // A server that solicits routes is ready once one is up: before that, its clients reach no one else.
        const routed = !this.#options.cluster?.routes.length || /Route connection created/.test(log);
        if (clients && (!this.#options.cluster || routes) && routed) {
          this.port = Number(clients[1]);
          if (routes) this.routePort = Number(routes[1]);
          resolve();
        }
      });
    });
    try {
      await withDeadline(ready, START_DEADLINE_MS, 'nats-server start');
    } catch (error) {
      await this.kill();
      throw error;
    }
  }

  /** Resolves once the server has logged a line matching `pattern` (since its last start), within `ms`. */
  line(pattern: RegExp, ms: number, what: string): Promise<void> {
    return withDeadline(
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (!pattern.test(this.#log)) return;
          this.#logWaiters.delete(check);
          resolve();
        };
        this.#logWaiters.add(check);
        check();
      }),
      ms,
      what,
    );
  }

  /** Stops the server at once (SIGKILL): its clients see their connections drop. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = undefined;
    child.kill(signal);
    // A stopped server must be resumed to act on anything but SIGKILL.
    child.kill('SIGCONT');
    await withDeadline(this.#exited, STOP_DEADLINE_MS, 'nats-server exit');
  }

  /** Stops (SIGSTOP) or resumes (SIGCONT) the running server: its clients' bytes pile up in the meantime. */
  signal(signal: 'SIGSTOP' | 'SIGCONT'): void {
    this.#child?.kill(signal);
  }

  /** Kills and removes its files. */
  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.#dir, { recursive: true, force: true });
    directories.delete(this.#dir);
  }

  #config(): string {
    const { token, user, pass, maxPayloadBytes, cluster, tls, slowConsumer } = this.#options;
    const lines = [
      'host: 127.0.0.1',
      `port: ${this.port}`,
      `write_deadline: ${JSON.stringify(slowConsumer?.writeDeadline ?? WRITE_DEADLINE)}`,
    ];
    if (slowConsumer) lines.push(`max_pending: ${slowConsumer.maxPendingBytes}`);
    if (maxPayloadBytes !== undefined) lines.push(`max_payload: ${maxPayloadBytes}`);
    if (token !== undefined) lines.push(`authorization { token: ${JSON.stringify(token)} }`);
    else if (user !== undefined) lines.push(`authorization { user: ${JSON.stringify(user)}, password: ${JSON.stringify(pass ?? '')} }`);
    if (tls) lines.push(`tls { cert_file: ${JSON.stringify(tls.certFile)}, key_file: ${JSON.stringify(tls.keyFile)} }`);
    if (cluster) {
      const routes = cluster.routes.map((route) => JSON.stringify(route)).join(', ');
      lines.push(`cluster { name: ${JSON.stringify(cluster.name)}, host: 127.0.0.1, port: ${this.routePort}, routes: [${routes}] }`);
    }
    return `${lines.join('\n')}\n`;
  }
}

/** A running nats-server, stopped in teardown. */
export async function startNatsServer(t: Teardown, options: NatsServerOptions = {}): Promise<NatsServer> {
  const server = new NatsServer(options);
  t.teardown(() => server.stop());
  await server.start();
  return server;
}

/** Two nats-servers joined by a route, each stopped in teardown. Clients of either reach clients of both. */
export async function startNatsCluster(t: Teardown, options: NatsServerOptions = {}): Promise<[NatsServer, NatsServer]> {
  const first = await startNatsServer(t, { ...options, cluster: { name: 'convoy-test', routes: [] } });
  const second = await startNatsServer(t, { ...options, cluster: { name: 'convoy-test', routes: [first.routeUrl] } });
  return [first, second];
}
