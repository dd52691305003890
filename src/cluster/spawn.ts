/**
 * Starting one incarnation of a worker, as a thread or a process, behind one small interface: its
 * control transport, how it exited, and a hard kill.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { MessageChannel, Worker, type TransferListItem } from 'node:worker_threads';
import type { Bootstrap, PortHandoff, ShmEnd } from '../protocol/control.js';
import type { ExitNotice } from '../protocol/messages.js';
import type { NatsScope } from './nats-options.js';
import { createThreadTransport } from '../transport/shm.js';
import type { Transport } from '../transport/transport.js';
import type { LastWordsMessage, ProcessBootMessage } from '../worker/process-main.js';
import type { ThreadData } from '../worker/thread-main.js';
import { needsTsx, processEntry, processRuntime, threadEntry, threadRuntime } from './paths.js';
import { stopAtExit } from './stop-at-exit.js';
import type { WorkerSpec } from './types.js';

export interface ExitInfo {
  exitCode?: number;
  signal?: string;
  /** A thread threw an uncaught error. */
  crashed: boolean;
  /** A worker on another host whose host was lost: how, or whether, it ended is not known. */
  disconnected?: true;
  error?: Error;
  /** A process's last words, as they came over its IPC channel (see LastWordsMessage). */
  lastWords?: ExitNotice;
}

export interface Child {
  readonly pid: number;
  readonly threadId: number;
  /** Settles once, when the thread or process has fully exited. */
  readonly exited: Promise<ExitInfo>;
  readonly hasExited: boolean;
  /** Hard stop: terminate() for a thread (works even in a busy loop), SIGKILL for a process. */
  kill(): void;
  /** Threads only: hands a peer's MessagePort to the worker. */
  handOff?(handoff: PortHandoff): void;
}

export interface SpawnedThread extends Child {
  control: Transport;
}

/**
 * `nats`: how the worker reaches peers on other hosts, in a cluster that has any. `shm`: the control
 * channel's shared-memory rings, [the coordinator's end, the thread's end].
 */
export function spawnThread(
  spec: WorkerSpec,
  boot: Bootstrap,
  secret: Uint8Array,
  nats?: NatsScope,
  shm?: [ShmEnd, ShmEnd],
): SpawnedThread {
  const { port1, port2 } = new MessageChannel();
  const convoy: ThreadData = { boot, secret, control: port2, ...(nats ? { nats } : {}) };
  if (shm) convoy.controlShm = shm[1];
  const worker = new Worker(threadEntry, {
    workerData: { convoy, convoyEntry: { runtime: threadRuntime, tsx: needsTsx(boot.module) } },
    transferList: [port2 as unknown as TransferListItem],
    // No `env` unless the spec sets one: given any object, process.env itself included, Node copies it
    // entry by entry through its interceptors, in the coordinator, for every thread (~3 ms here); left
    // out, the thread gets a copy of the environment made natively.
    ...(spec.env ? { env: { ...process.env, ...spec.env } } : {}),
    argv: [...(spec.argv ?? [])],
    execArgv: [...(spec.execArgv ?? [])],
    ...(spec.resourceLimits ? { resourceLimits: spec.resourceLimits } : {}),
  });
  let hasExited = false;
  stopAtExit(worker);
  let error: Error | undefined;
  worker.on('error', (e) => {
    error = e;
  });
  const exited = new Promise<ExitInfo>((resolve) => {
    worker.once('exit', (exitCode) => {
      hasExited = true;
      resolve({ exitCode, crashed: error !== undefined, ...(error ? { error } : {}) });
    });
  });
  return {
    pid: process.pid,
    threadId: worker.threadId,
    control: createThreadTransport(port1, shm?.[0]),
    exited,
    get hasExited() {
      return hasExited;
    },
    kill: () => void worker.terminate(),
    handOff: (handoff) => worker.postMessage(handoff, [handoff.port as unknown as TransferListItem]),
  };
}

export function spawnProcess(spec: WorkerSpec, boot: Bootstrap, secret: Uint8Array, nats?: NatsScope): Child {
  const message: ProcessBootMessage = { convoy: 'boot', boot, secret, ...(nats ? { nats } : {}) };
  return forkWorker(spec, processRuntime, needsTsx(boot.module), message);
}

/** How long a process's exit waits for its IPC channel to close, to read its last words from it. */
const IPC_CLOSE_WAIT_MS = 200;

/**
 * A worker process running `runtime` (loaded by workers/process.js), which receives `boot` as its first
 * IPC message: nothing secret goes on its command line or in its environment.
 */
export function forkWorker(
  spec: Pick<WorkerSpec, 'argv' | 'execArgv' | 'env' | 'resourceLimits'>,
  runtime: string,
  tsx: boolean,
  boot: object,
): Child {
  const execArgv = [...(spec.execArgv ?? [])];
  const heap = spec.resourceLimits?.maxOldGenerationSizeMb;
  if (heap) execArgv.push(`--max-old-space-size=${heap}`);
  const child: ChildProcess = fork(processEntry, spec.argv ?? [], {
    execArgv,
    env: {
      ...process.env,
      ...spec.env,
      CONVOY_RUNTIME: runtime,
      CONVOY_TSX: tsx ? '1' : '0',
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // Advanced serialisation carries the secret as bytes over IPC.
    serialization: 'advanced',
  });
  let hasExited = false;
  let lastWords: ExitNotice | undefined;
  child.on('message', (message: Partial<LastWordsMessage> | null) => {
    if (message?.convoy === 'last-words') lastWords = message.exit;
  });
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => {
      hasExited = true;
      const info: ExitInfo = { crashed: signal !== null };
      if (code !== null) info.exitCode = code;
      if (signal !== null) info.signal = signal;
      // Its last words are read once its IPC channel has closed ('close' comes after every message);
      // a pipe some descendant still holds open is not waited for past IPC_CLOSE_WAIT_MS.
      const settle = (): void => {
        clearTimeout(timer);
        if (lastWords) info.lastWords = lastWords;
        resolve(info);
      };
      const timer = setTimeout(settle, IPC_CLOSE_WAIT_MS);
      child.once('close', settle);
    });
  });
  child.on('error', () => {});
  child.send(boot, (error) => {
    if (error && !hasExited) child.kill('SIGKILL');
  });
  return {
    pid: child.pid ?? 0,
    threadId: 0,
    exited,
    get hasExited() {
      return hasExited;
    },
    kill: () => {
      if (!hasExited) child.kill('SIGKILL');
    },
  };
}
