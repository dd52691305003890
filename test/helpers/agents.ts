/**
 * Agents and the coordinator's side of them, for tests: each agent is a separate `convoy agent` process
 * (run from the sources) standing for a host of its own; its log lines can be awaited. Everything is stopped in
 * `t.teardown()`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';
import { Channel } from '../../src/channel/channel.js';
import { Hosts, type HostsHealth } from '../../src/cluster/hosts.js';
import type { NatsClusterOptions } from '../../src/cluster/nats-options.js';
import type { RemoteChild } from '../../src/cluster/remote-child.js';
import { COORDINATOR_ENDPOINT, type RemoteSpawn, workerEndpoint } from '../../src/agent/protocol.js';
import { fillChannelOptions } from '../../src/options.js';
import { COORDINATOR, System, type Bootstrap } from '../../src/protocol/control.js';
import { PROTOCOL_VERSION } from '../../src/protocol/messages.js';
import { Endpoint } from '../../src/rpc/endpoint.js';
import { closedChannelError, diedError } from '../../src/rpc/link.js';
import { DeadlineError, handled, withDeadline } from './deadline.js';
import { logTee } from './log-tee.js';
import type { Teardown } from './nats-server.js';
import { fixture, repoRoot } from './repo.js';

const root = fileURLToPath(repoRoot);
const STOP_DEADLINE_MS = 10_000;
/** A worker's boot on an agent, on a loaded machine: its control transport waits as long for its side. */
const START_DEADLINE_MS = 30_000;

/** A secret file of fresh random bytes (or of `text`), removed in teardown. */
export function secretFile(t: Teardown, text = randomBytes(32).toString('hex')): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'convoy-secret-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'secret');
  writeFileSync(file, `${text}\n`, { mode: 0o600 });
  return file;
}

export interface AgentProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Everything it logged so far. */
  readonly log: string;
  /** Resolves at the first log line (from now on, or already logged when `past`) matching `pattern`. */
  line(pattern: RegExp, ms: number, what: string, past?: boolean): Promise<string>;
  readonly exited: Promise<number | null>;
}

export interface AgentArgs {
  nats: string;
  host: string;
  secretFile: string;
  cluster?: string;
  cwd?: string;
  extra?: string[];
  /** Written to its standard input (for `--secret-file -`). */
  stdin?: string;
}

/** A fixture as an agent takes a module path: relative to its working directory (the repository's root). */
export function agentFixture(file: string): string {
  return path.relative(root, fileURLToPath(fixture(file)));
}

/** Whether an agent process still runs, as a failure message says it. */
function agentState(child: ChildProcess): string {
  if (child.exitCode !== null) return `the agent exited with code ${child.exitCode}`;
  if (child.signalCode !== null) return `the agent was ended by ${child.signalCode}`;
  return 'the agent still runs';
}

/** The last lines of a log, on one line: `(nothing)` for none. */
function logTail(text: string, lines = 12): string {
  const tail = text.trim().split('\n').slice(-lines).join(' | ');
  return tail === '' ? '(nothing)' : tail;
}

/**
 * `convoy agent …` as a process of its own, compiled as the tests are (src/agent/main.ts: its workers must
 * load the same convoy as the fixtures the tests give them); SIGKILLed (with its workers) in teardown if
 * still running.
 */
export function startAgent(t: Teardown, args: AgentArgs): AgentProcess {
  const main = fileURLToPath(new URL('../../src/agent/main.js', import.meta.url));
  const argv = [main, '--nats', args.nats, '--host', args.host, '--secret-file', args.secretFile];
  if (args.cluster) argv.push('--cluster', args.cluster);
  argv.push('--cwd', args.cwd ?? root, ...(args.extra ?? []));
  const child = spawn(process.execPath, argv, { cwd: root, stdio: [args.stdin === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'] });
  if (args.stdin !== undefined) child.stdin!.end(args.stdin);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let log = '';
  let offset = 0;
  const waiters = new Set<{ pattern: RegExp; from: number; resolve: (line: string) => void }>();
  const check = (): void => {
    for (const waiter of waiters) {
      const match = waiter.pattern.exec(log.slice(waiter.from));
      if (match) {
        waiters.delete(waiter);
        waiter.resolve(match[0]);
      }
    }
  };
  const tee = logTee(`agent-${args.host}`, child.pid);
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    tee(chunk);
    log += chunk;
    check();
  });
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
    await withDeadline(exited, STOP_DEADLINE_MS, `agent ${args.host} exit`);
  });
  return {
    child,
    pid: child.pid!,
    get log() {
      return log;
    },
    line(pattern, ms, what, past = false) {
      const from = past ? 0 : log.length;
      offset = from;
      const found = new Promise<string>((resolve) => waiters.add({ pattern, from: offset, resolve }));
      check();
      return handled(
        withDeadline(found, ms, `agent ${args.host}: ${what}`).catch((error: unknown) => {
          // What the agent said instead, and whether it still runs: the one clue when this fails under load.
          if (error instanceof DeadlineError) error.message += `; ${agentState(child)}, and logged since: ${logTail(log.slice(from))}`;
          throw error;
        }),
      );
    },
    exited,
  };
}

/** The coordinator's side of agents, closed in teardown. */
export async function connectHosts(t: ExecutionContext, options: NatsClusterOptions, health: HostsHealth): Promise<Hosts> {
  const hosts = await Hosts.connect(options, health);
  t.teardown(() => hosts.close());
  return hosts;
}

/** A bootstrap for a worker placed on an agent; `module` is resolved there. */
export function remoteBootstrap(name: string, module: string, kind: Bootstrap['kind'], incarnation = 0): Bootstrap {
  return {
    v: PROTOCOL_VERSION,
    name,
    incarnation,
    kind,
    module,
    serial: false,
    data: undefined,
    names: [name],
    channel: fillChannelOptions(),
    callTimeoutMs: 0,
    linkWaitMs: 10_000,
    handshakeTimeoutMs: 1000,
    host: '127.0.0.1',
    pool: false,
  };
}

export interface RemoteWorker {
  child: RemoteChild;
  control: Endpoint;
}

/**
 * Starts `module` on `host`'s agent and loads it, as the cluster will: the agent spawns it, the
 * coordinator binds a NATS transport to its endpoint, and `\0start` loads the user's module.
 */
export async function startRemoteWorker(
  t: ExecutionContext,
  hosts: Hosts,
  host: string,
  name: string,
  module: string,
  spawn: RemoteSpawn,
): Promise<RemoteWorker> {
  const boot = remoteBootstrap(name, module, spawn.kind);
  const child = await hosts.spawn(host, boot, spawn);
  t.teardown(() => child.kill());
  const transport = hosts.hub.open(COORDINATOR_ENDPOINT, workerEndpoint(name, boot.incarnation), {
    maxFrameBytes: boot.channel.maxFrameBytes,
    openTimeoutMs: START_DEADLINE_MS,
  });
  const channel = new Channel(transport, { closeError: (cause) => closedChannelError(name, undefined, 'disconnected', cause) });
  const control = new Endpoint(channel, { peerName: name, localName: COORDINATOR });
  t.teardown(() => control.destroy(new Error('test teardown')));
  // As the cluster does for any child: its exit, reported by its agent, fails its calls at once.
  void child.exited.then((exit) => control.destroy(diedError(name, exit.crashed ? 'crash' : 'exit', exit)));
  await withDeadline(control.call(System.start, []), START_DEADLINE_MS, `worker ${name} loads on ${host}`);
  return { child, control };
}
