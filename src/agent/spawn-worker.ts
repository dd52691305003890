/**
 * Starting a worker on the agent's host, as a thread of the agent or a process of its own, with the
 * remote runtime (worker/nats-main.ts): the bootstrap, secret and NATS options go in workerData or over
 * IPC. The user's module comes resolved, against the agent's working directory (agent-session.ts).
 */
import { type TransferListItem, Worker } from 'node:worker_threads';
import { needsTsx, remoteRuntime, threadEntry } from '../cluster/paths.js';
import { type ExitInfo, forkWorker } from '../cluster/spawn.js';
import { stopAtExit } from '../cluster/stop-at-exit.js';
import type { Bootstrap, PortHandoff } from '../protocol/control.js';
import type { RemoteBootMessage, RemoteWorkerData } from '../worker/nats-main.js';
import type { RemoteSpawn, RemoteWorkerNats } from './protocol.js';

export interface LocalWorker {
  readonly pid: number;
  readonly threadId: number;
  readonly exited: Promise<ExitInfo>;
  kill(): void;
  /** Threads only: hands the thread one port of a channel to a peer thread of this agent. */
  handOff?(handoff: PortHandoff): void;
}

export function spawnWorker(boot: Bootstrap, spawn: RemoteSpawn, secret: Uint8Array, nats: RemoteWorkerNats): LocalWorker {
  const data: RemoteWorkerData = { boot, secret, nats };
  return spawn.kind === 'thread' ? spawnThread(data, spawn) : spawnProcess(data, spawn);
}

function spawnThread(data: RemoteWorkerData, spawn: RemoteSpawn): LocalWorker {
  const worker = new Worker(threadEntry, {
    workerData: { convoy: data, convoyEntry: { runtime: remoteRuntime, tsx: needsTsx(data.boot.module) } },
    // As the coordinator's threads (src/cluster/spawn.ts): no `env` unless the spec sets one.
    ...(spawn.env ? { env: { ...process.env, ...spawn.env } } : {}),
    argv: spawn.argv ?? [],
    execArgv: spawn.execArgv ?? [],
    ...(spawn.resourceLimits ? { resourceLimits: spawn.resourceLimits } : {}),
  });
  stopAtExit(worker);
  let error: Error | undefined;
  worker.on('error', (e) => {
    error = e;
  });
  const exited = new Promise<ExitInfo>((resolve) => {
    worker.once('exit', (exitCode) => resolve({ exitCode, crashed: error !== undefined, ...(error ? { error } : {}) }));
  });
  return {
    pid: process.pid,
    threadId: worker.threadId,
    exited,
    kill: () => void worker.terminate(),
    handOff: (handoff) => worker.postMessage(handoff, [handoff.port as unknown as TransferListItem]),
  };
}

function spawnProcess(data: RemoteWorkerData, spawn: RemoteSpawn): LocalWorker {
  return forkWorker(spawn, remoteRuntime, needsTsx(data.boot.module), { convoy: 'remote-boot', ...data } satisfies RemoteBootMessage);
}
