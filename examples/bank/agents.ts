// The bank across hosts (`convoy bank --agents N`): a NATS server (started here unless one is named),
// N local agents — `convoy agent` processes, each standing for a machine of its own — and, for the
// chaos run, a way to kill one (its workers go with it) and to start it again.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NatsClusterOptions } from '../../src/index.js';

export interface LocalAgents {
  /** The cluster's `nats` option for them. */
  nats: NatsClusterOptions;
  /** Their host names: `agent-0` .. `agent-<n-1>`. */
  names: string[];
  /** SIGKILLs the agent of host `name`; resolves once it has exited. */
  kill(name: string): Promise<void>;
  /** Starts the agent of host `name` (again). */
  start(name: string): void;
  /** Stops the agents, and the NATS server if it was started here. */
  close(): Promise<void>;
}

const SERVER_START_MS = 10_000;
/**
 * The same build as this file: compiled (dist/examples/bank/), the `convoy agent` command, which runs the
 * bundle these examples import; or the sources through tsx.
 */
const compiled = extname(fileURLToPath(import.meta.url)) === '.js';
const agentArgv = compiled
  ? [fileURLToPath(new URL('../../../bin/convoy.js', import.meta.url)), 'agent']
  : ['--import', 'tsx', fileURLToPath(new URL('../../src/agent/main.ts', import.meta.url))];
const reaperArgv = compiled
  ? [fileURLToPath(new URL('./reaper.js', import.meta.url))]
  : ['--import', 'tsx', fileURLToPath(new URL('./reaper.ts', import.meta.url))];

/** Tells `reaper.ts` what to end if this process is killed before it ends them itself. */
interface Reaper {
  tell(line: string): void;
  /** Everything was ended here: the reaper has nothing to do. */
  done(): void;
}

function startReaper(): Reaper {
  // Its own process group too, so a Ctrl-C at the terminal leaves it to watch the settle.
  const child = spawn(process.execPath, reaperArgv, { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
  child.on('error', () => {});
  child.stdin!.on('error', () => {}); // it died first: nothing to tell any more
  // Neither it nor its pipe keeps this process alive.
  child.unref();
  (child.stdin as unknown as { unref(): void }).unref();
  return {
    tell: (line) => void child.stdin!.write(`${line}\n`),
    done: () => child.stdin!.end('done\n'),
  };
}

/** Names `child`, spawned detached, to the reaper until it exits. */
function watched(reaper: Reaper, child: ChildProcess): ChildProcess {
  if (child.pid === undefined) return child;
  const pid = child.pid;
  reaper.tell(`group ${pid}`);
  child.once('exit', () => reaper.tell(`gone ${pid}`));
  return child;
}

export async function startLocalAgents(count: number, natsUrl?: string): Promise<LocalAgents> {
  const dir = mkdtempSync(join(tmpdir(), 'convoy-bank-agents-'));
  // Killed outright, this process runs no hook at all: the reaper ends what it started.
  const reaper = startReaper();
  reaper.tell(`dir ${dir}`);
  const agents = new Map<string, ChildProcess>();
  let serverChild: ChildProcess | undefined;
  // Out of the terminal's reach (see `start`), the agents and the server are ended here if this process
  // exits without close() (a second Ctrl-C, a failure): SIGKILL, synchronously, the only way an 'exit'
  // hook can. Set before anything is started, the server included.
  const leftBehind = (): void => {
    for (const child of agents.values()) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    serverChild?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', leftBehind);
  const secretFile = join(dir, 'secret');
  writeFileSync(secretFile, randomBytes(32).toString('hex'), { mode: 0o600 });
  const server = natsUrl
    ? undefined
    : await startNatsServer((child) => (serverChild = watched(reaper, child))).catch((error: unknown) => {
        process.off('exit', leftBehind);
        rmSync(dir, { recursive: true, force: true });
        reaper.done();
        throw error;
      });
  const url = natsUrl ?? server!.url;
  // A name of its own on the server: another bank run there never meets this one.
  const cluster = `bank-${randomBytes(4).toString('hex')}`;
  const names = Array.from({ length: count }, (_, i) => `agent-${i}`);
  const start = (name: string): void => {
    const argv = [...agentArgv, '--nats', url, '--host', name, '--secret-file', secretFile, '--cluster', cluster];
    // A process group of its own, as the server's: a terminal's Ctrl-C signals its whole foreground group,
    // and the agents (which stop on SIGINT) would take the shards with them while the bank settles.
    const child = spawn(process.execPath, argv, { stdio: 'ignore', detached: true });
    child.on('error', () => {});
    agents.set(name, watched(reaper, child));
  };
  const stop = async (name: string, signal: NodeJS.Signals): Promise<void> => {
    const child = agents.get(name);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    await exited;
  };
  for (const name of names) start(name);
  return {
    nats: { servers: url, secretFile, cluster },
    names,
    kill: (name) => stop(name, 'SIGKILL'),
    start,
    async close() {
      await Promise.all(names.map((name) => stop(name, 'SIGTERM')));
      server?.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      process.off('exit', leftBehind);
      reaper.done();
    },
  };
}

/** A nats-server of its own on a free loopback port. */
async function startNatsServer(spawned: (child: ChildProcess) => void): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn('nats-server', ['-a', '127.0.0.1', '-p', '-1'], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  spawned(child);
  let log = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`nats-server did not start within ${SERVER_START_MS} ms:\n${log}`)), SERVER_START_MS);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    child.once('error', (error: NodeJS.ErrnoException) =>
      fail(
        error.code === 'ENOENT'
          ? new Error(
              '`convoy bank --agents` starts a NATS server: install nats-server (apt-get install nats-server), or name one with --nats URL',
            )
          : error,
      ),
    );
    const onLog = (chunk: string): void => {
      log += chunk;
      const listening = /Listening for client connections on [^\s:]+:(\d+)/.exec(log);
      if (!listening) return;
      clearTimeout(timer);
      // Its later lines are read and dropped.
      child.stderr!.off('data', onLog).resume();
      resolve(Number(listening[1]));
    };
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', onLog);
  });
  return { url: `nats://127.0.0.1:${port}`, child };
}
