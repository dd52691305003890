/**
 * The worker side of convoy, the same for threads and processes: serve the control channel, load the
 * user's module when told to, wire the peers the coordinator plans, and shut down cleanly.
 */
import { getEventListeners } from 'node:events';
import { Channel } from '../channel/channel.js';
import { ClusterClosedError, deathErrorToWire, stripForHandOff } from '../errors.js';
import {
  type Bootstrap,
  COORDINATOR,
  type DialPlan,
  type NatsPairPlan,
  type OpenReply,
  type PeerExit,
  type StartResult,
  type ShutdownAnswer,
  type StatsAnswer,
  System,
} from '../protocol/control.js';
import type { ExitNotice } from '../protocol/messages.js';
import { Endpoint } from '../rpc/endpoint.js';
import { peerExitError, receivedPeerExit } from '../rpc/link.js';
import { isThenable } from '../rpc/responder.js';
import type { Transport } from '../transport/transport.js';
import { WorkerContext } from './context.js';
import { isWorkerDefinition } from './define-worker.js';
import { PeerTable } from './peer-table.js';
import type { NatsAccess } from './nats-access.js';
import { StatsAnswers } from './stats-answers.js';

export interface RuntimeHooks {
  /** Thread id or 0, for stats. */
  threadId: number;
  /**
   * The runtime has closed. `cleanup`: at a shutdown, user code had something to do about it (listeners on
   * ctx.signal, or handlers holding their calls' signals): it is given a moment before the worker ends.
   */
  onClose(reason: 'shutdown' | 'coordinator-lost', cleanup: boolean): void;
  /** How this worker reaches peers on other hosts, in a cluster that has any. */
  nats?: NatsAccess;
  /** The thread or process is exiting: `exit` is what its last words, just sent on every channel, told. */
  onExit?(exit: ExitNotice): void;
}

export class WorkerRuntime {
  readonly peers: PeerTable;
  readonly control: Endpoint;
  readonly #boot: Bootstrap;
  readonly #hooks: RuntimeHooks;
  readonly #abort = new AbortController();
  readonly #stats = new StatsAnswers();
  #context: WorkerContext | undefined;
  #listening: Promise<number> | undefined;
  #closed = false;

  constructor(boot: Bootstrap, secret: Uint8Array, controlTransport: Transport, hooks: RuntimeHooks) {
    this.#boot = boot;
    this.#hooks = hooks;
    // Asked on a peer's first use; the coordinator answers once the channel is open or on its way. No
    // deadline here: the coordinator bounds the wait for a peer that is starting, and waits for a live
    // one that is busy as long as it lives (the heartbeat ends a hung one). Calls wait meanwhile.
    const open = (name: string, had: number) => this.control.call(System.open, [name, had], { timeoutMs: 0 }) as Promise<OpenReply>;
    this.peers = new PeerTable(boot, secret, open, hooks.nats);
    const channel = new Channel(controlTransport, {
      ...boot.channel,
      closeError: () => new ClusterClosedError('The coordinator is gone'),
    });
    this.control = new Endpoint(channel, {
      peerName: COORDINATOR,
      localName: boot.name,
      callTimeoutMs: boot.callTimeoutMs,
      serial: boot.serial,
      system: {
        [System.listen]: () => this.#listen(),
        [System.start]: () => this.#start(),
        [System.connect]: (plan: DialPlan) => this.peers.dial(plan),
        [System.natsPair]: (plan: NatsPairPlan) => this.peers.bindNats(plan),
        [System.peerExit]: (exit: PeerExit) => this.#peerExit(exit),
        [System.shutdown]: (): ShutdownAnswer => ({ cleanup: this.#close('shutdown') }),
        [System.stats]: (since?: number): StatsAnswer => this.#stats.answer(since, this.peers.links),
      },
    });
    this.control.onClose(() => this.#close('coordinator-lost'));
    // Last words: when this thread or process exits (process.exit, an uncaught exception), tell the
    // coordinator how, so the calls it fails carry the real exit code rather than "disconnected".
    let uncaught: { error: unknown } | undefined;
    let beingHandled: { error: unknown } | undefined;
    process.on('uncaughtExceptionMonitor', (error) => {
      if (process.listenerCount('uncaughtException') === 0) {
        uncaught ??= { error };
        return;
      }
      // The worker's own 'uncaughtException' listener handles it: a crash only if that listener ends
      // the process (process.exit inside it exits before any microtask runs). An exception the worker
      // survives makes no later exit a crash.
      beingHandled = { error };
      queueMicrotask(() => {
        beingHandled = undefined;
      });
    });
    process.once('exit', (exitCode) => {
      const fatal = uncaught ?? beingHandled;
      // The error itself goes too, so the callers it fails learn what happened (a process's own error
      // otherwise only reaches its stderr). Plain data only: the last words must encode.
      const exit: ExitNotice = fatal ? { exitCode, crashed: true, error: deathErrorToWire(fatal.error) } : { exitCode, crashed: false };
      this.control.channel.close(exit);
      // Peers get the same last words, so their in-flight calls to us fail with the real reason too. A
      // NATS client writes on a later microtask, which an exiting thread or process never reaches: flushed.
      this.peers.sayLastWords(exit);
      hooks.onExit?.(exit);
      // Node then hands a thread's error to its parent, which some errors hang or crash (Node 20): it
      // keeps only what that needs, now that the last words have carried it whole.
      if (uncaught) stripForHandOff(uncaught.error);
    });
  }

  async #start(): Promise<StartResult> {
    let loaded: Record<string, unknown>;
    try {
      loaded = (await import(this.#boot.module)) as Record<string, unknown>;
    } catch (error) {
      throw new Error(`Worker "${this.#boot.name}" failed to load ${this.#boot.module}`, { cause: error });
    }
    const definition = loaded.default;
    if (!isWorkerDefinition(definition)) {
      throw new TypeError(
        `Worker "${this.#boot.name}": the default export of ${this.#boot.module} must be the result of defineWorker(), got ${typeof definition}`,
      );
    }
    this.#context = new WorkerContext({
      name: this.#boot.name,
      data: this.#boot.data,
      signal: this.#abort.signal,
      links: this.peers.links,
      control: this.control,
      // A coordinator of a version before the field sent none: it may have a pool.
      pool: this.#boot.pool !== false,
    });
    let api: unknown;
    try {
      api = definition.factory(this.#context);
      // Awaited, an API with a `then` method would be taken for a promise and its `then` called: the start
      // waited on it until startTimeoutMs. No remote ever calls a `then` (awaiting a remote must not call
      // the worker), so such an API is refused below. (An async factory's own promise takes it for a
      // promise too, before convoy sees it: that start still waits.)
      if (api instanceof Promise || !isThenable(api)) api = await api;
    } catch (error) {
      throw new Error(`Worker "${this.#boot.name}": the defineWorker() factory threw`, { cause: error });
    }
    if (isThenable(api)) {
      throw new TypeError(
        `Worker "${this.#boot.name}": the API the defineWorker() factory returned has a \`then\` method, which no remote can call and which makes it look like a promise: rename it`,
      );
    }
    if (typeof api !== 'object' || api === null) {
      throw new TypeError(
        `Worker "${this.#boot.name}": the defineWorker() factory must return an object of handlers, got ${api === null ? 'null' : typeof api}`,
      );
    }
    this.control.serve(api);
    this.peers.serve(api);
    return { pid: process.pid, threadId: this.#hooks.threadId };
  }

  /**
   * A process listens for the peers that dial it when the coordinator first plans such a pair — maybe
   * while this worker is still starting, for a pair its own factory opens.
   */
  #listen(): Promise<number> {
    this.#listening ??= this.peers.listen();
    return this.#listening;
  }

  #peerExit(exit: PeerExit): void {
    const { silent, ...event } = receivedPeerExit(exit);
    this.peers.peerExited(exit.name, exit.incarnation, exit.restarting, peerExitError(event));
    if (!silent) this.#context?.emit('peer-exit', event);
  }

  /** Returns whether user code has cleanup to do about it (see RuntimeHooks.onClose). */
  #close(reason: 'shutdown' | 'coordinator-lost'): boolean {
    if (this.#closed) return false;
    this.#closed = true;
    // Asked before the aborts below: a listener added with { once: true } is gone once it has run.
    const cleanup =
      getEventListeners(this.#abort.signal, 'abort').length > 0 ||
      this.control.activeSignals > 0 ||
      [...this.peers.links.values()].some((link) => (link.endpoint?.activeSignals ?? 0) > 0);
    this.#abort.abort(new ClusterClosedError(reason === 'shutdown' ? 'The cluster is shutting down' : 'The coordinator is gone'));
    this.peers.close(new ClusterClosedError('The cluster is shutting down'));
    // Reply to the shutdown call first, then let the owner end the thread or process.
    setImmediate(() => this.#hooks.onClose(reason, cleanup));
    return cleanup;
  }
}
