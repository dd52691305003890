/**
 * The coordinator's view of one named worker across its incarnations: spawn, control endpoint, death
 * detection and classification. The Link stays for the worker's whole life, so proxies survive restarts.
 */
import { HostDownError } from '../agent/errors.js';
import { Channel } from '../channel/channel.js';
import { ClusterClosedError, WorkerDiedError, type DeathReason, toError } from '../errors.js';
import { COORDINATOR, System, type Bootstrap, type StartResult } from '../protocol/control.js';
import { Endpoint } from '../rpc/endpoint.js';
import { Link, closedChannelError, diedError, uncaughtError } from '../rpc/link.js';
import type { ExitNotice } from '../protocol/messages.js';
import type { Transport } from '../transport/transport.js';
import type { FilledChannelOptions } from '../options.js';
import type { NatsScope } from './nats-options.js';
import { RemoteChild } from './remote-child.js';
import type { SharedMemoryPlan } from './shared-memory.js';
import { spawnProcess, spawnThread, type Child, type ExitInfo } from './spawn.js';
import type { WorkerExitEvent, WorkerSpec } from './types.js';

const POOL_CALLS: ReadonlySet<string> = new Set([System.pool, System.poolNotify]);
/**
 * How long a start cut off by its control channel's close waits for the worker's exit, which says why it
 * died, and how long an exit waits for the control channel to hand over the worker's last words: the
 * two follow each other within milliseconds, in either order.
 */
const EXIT_REPORT_WAIT_MS = 1000;

export type HandleState = 'starting' | 'ready' | 'dead' | 'restarting' | 'closed';

export interface HandleEnv {
  secret: Uint8Array;
  /** Builds this worker's bootstrap for an incarnation. */
  bootstrap(name: string, incarnation: number): Bootstrap;
  /** The control transport of a process worker, once it dialed in. */
  expectProcess(name: string, incarnation: number): Promise<Transport>;
  forgetProcess(name: string): void;
  expose: object;
  /** convoy's own handlers for this worker's calls to the coordinator (`\0open`, `\0pool`). */
  system(handle: WorkerHandle): object;
  startTimeoutMs: number;
  /** How long a worker that said its last words may take to finish exiting before it is taken for hung. */
  exitGraceMs: number;
  callTimeoutMs: number;
  channel: FilledChannelOptions;
  /** Starts a worker on another host (`spec.host`) and opens its control transport. */
  place(host: string, boot: Bootstrap, spec: WorkerSpec): Promise<{ child: Child; control: Transport }>;
  /** How the coordinator's own workers reach peers on other hosts, in a cluster that has any. */
  natsScope(): NatsScope | undefined;
  /** Which threads talk to the coordinator over shared-memory rings. */
  shm?: SharedMemoryPlan;
  /**
   * Called once per incarnation that dies after it loaded (not during close). `wasReady` is false for one
   * that died while being wired: that is the failure of whoever is starting it, not a death to answer.
   */
  onDeath(handle: WorkerHandle, event: Omit<WorkerExitEvent, 'restarting'>, wasReady: boolean): void;
  /**
   * The coordinator is about to end this incarnation (kill, hung) with `error`: called before it is
   * stopped, so that word of it can go out ahead of the channels' closing.
   */
  onEnding(handle: WorkerHandle, error: WorkerDiedError): void;
}

export class WorkerHandle {
  readonly name: string;
  readonly spec: WorkerSpec;
  readonly link: Link;
  readonly #env: HandleEnv;
  state: HandleState = 'starting';
  incarnation = -1;
  restarts = 0;
  /** Consecutive quick failures: the restart delay's exponent (see RestartBackoff). */
  backoffStep = 0;
  /** `performance.now()` when the current incarnation became ready. */
  readyAt = 0;
  child: Child | undefined;
  control: Endpoint | undefined;
  started: StartResult | undefined;
  /** The port of this incarnation's peer listener (processes), once one of its pairs needed it. */
  #listening: Promise<number> | undefined;
  /** Why the current incarnation is being ended by us, if it is. */
  #endingReason: DeathReason | undefined;
  #deathReported = false;
  /** close() is ending this worker (shutDownWorker): whatever ends it now is no death. */
  #shuttingDown = false;
  /** We stopped the current incarnation after its last words: its exit is the one they told, not our kill. */
  #stoppedAfterLastWords = false;
  /** The current incarnation's death once it is reported (undefined: it ended with no death, see destroy). */
  #death = settledDeath();
  /** Waiting for this worker to be ready (true) or gone for good (false). */
  readonly #readyWaiters = new Set<(ready: boolean) => void>();
  #gaveUp = false;

  constructor(name: string, spec: WorkerSpec, env: HandleEnv) {
    this.name = name;
    this.spec = spec;
    this.#env = env;
    this.link = new Link(name, { waitMs: env.startTimeoutMs, callTimeoutMs: env.callTimeoutMs });
  }

  get kind(): 'thread' | 'process' {
    return this.spec.kind ?? 'thread';
  }

  /** The agent's host this worker runs on; undefined: the coordinator's own. */
  get host(): string | undefined {
    return this.spec.host;
  }

  /** On an agent: the agent's number for the current incarnation. */
  get agentId(): number | undefined {
    return this.child instanceof RemoteChild ? this.child.id : undefined;
  }

  /** Spawns the next incarnation, connects its control channel and loads its module. Rejects naming the cause. */
  async start(): Promise<StartResult> {
    // The last incarnation's death, if it was never reported (its report dropped as this one began): whoever
    // waits for it (kill()) must not wait for good.
    this.#death.settle(undefined);
    this.incarnation++;
    this.state = 'starting';
    this.#endingReason = undefined;
    this.#deathReported = false;
    this.#stoppedAfterLastWords = false;
    this.started = undefined;
    this.#listening = undefined;
    // The last incarnation's channel is no longer this worker's: its last words must not explain a death
    // of this one before its own channel opens (a process that exits before it connects).
    this.control = undefined;
    try {
      return await this.#spawnAndLoad();
    } catch (error) {
      // A failed start is not a death of a ready worker: no exit event, no restart from it.
      this.#endsWithoutDeath();
      this.child?.kill();
      this.#env.forgetProcess(this.name);
      throw error;
    }
  }

  async #spawnAndLoad(): Promise<StartResult> {
    const boot = this.#env.bootstrap(this.name, this.incarnation);
    let transport: Transport;
    const incarnation = this.incarnation;
    if (this.host !== undefined) {
      const placed = await this.#env.place(this.host, boot, this.spec);
      this.child = placed.child;
      transport = placed.control;
    } else if (this.kind === 'thread') {
      const thread = spawnThread(this.spec, boot, this.#env.secret, this.#env.natsScope(), this.#env.shm?.forControl(this.spec));
      this.child = thread;
      transport = thread.control;
    } else {
      const connected = this.#env.expectProcess(this.name, incarnation);
      const child = spawnProcess(this.spec, boot, this.#env.secret, this.#env.natsScope());
      this.child = child;
      transport = await this.#untilExit(child, connected, 'connect to the coordinator');
    }
    const child = this.child;
    // With its child, not before: until then kill() and a close find the last incarnation's death, settled.
    this.#death = pendingDeath();
    void child.exited.then((exit) => this.#exited(incarnation, exit));
    const control = this.#openControl(transport, incarnation);
    try {
      // No timeout of its own: #untilExit's deadline says what did not happen in time, where the call's
      // would only say that convoy's own `start` timed out.
      this.started = await this.#untilExit(
        child,
        control.call(System.start, [], { timeoutMs: 0 }) as Promise<StartResult>,
        'load',
        'load its module and return from its factory',
      );
    } catch (error) {
      // Not only its child: a control transport that cannot see the worker die (NATS) ends here too.
      control.destroy(toError(error));
      throw error;
    }
    return this.started;
  }

  /**
   * A process opens its peer listener when the first pair that has it listen is planned, not at its
   * start: listening loads Node's DNS module and binds a socket, a good part of a process's start, for
   * pairs most never open. It answers even while its module loads, so a factory that calls a peer can be
   * dialed. No deadline: the word waits behind whatever the worker is busy with, and a worker that stops
   * answering is ended by the heartbeat, which fails it (see Wiring's #tell).
   */
  listen(): Promise<number> {
    if (!this.control) return Promise.reject(new Error(`Worker "${this.name}" has no control channel`));
    const listening = (this.#listening ??= this.control.call(System.listen, [], { timeoutMs: 0 }) as Promise<number>);
    // A failed ask (this incarnation died) is asked again by the next pair.
    listening.catch(() => {
      if (this.#listening === listening) this.#listening = undefined;
    });
    return listening;
  }

  /**
   * Binds the control endpoint for calls from the cluster, once the whole mesh is wired. Throws if this
   * incarnation died meanwhile: its wiring can succeed without it (its peers only had to be told).
   */
  markReady(): void {
    if (this.state !== 'starting' || !this.control || this.control.closed || !this.child || this.child.hasExited) {
      throw new Error(`Worker "${this.name}" died before it was ready`);
    }
    this.state = 'ready';
    this.readyAt = performance.now();
    this.link.bind(this.control!, this.incarnation);
    this.#wakeReadyWaiters(true);
  }

  /**
   * Resolves true once this worker is ready (at once if it is), false once it is gone for good
   * (`gaveUp()`, `destroy()`) or after `timeoutMs`. An incarnation that is ending (killed, said its last
   * words, or exited, and its death not yet handled) is not ready: a channel handed to it now would reach
   * a thread that is gone, whose port never closes, so a pair waits for the next incarnation instead.
   */
  whenReady(timeoutMs: number): Promise<boolean> {
    if (this.state === 'ready' && !this.#ending) return Promise.resolve(true);
    if (this.state === 'closed' || this.#gaveUp) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(false), timeoutMs);
      const done = (ready: boolean): void => {
        clearTimeout(timer);
        this.#readyWaiters.delete(done);
        resolve(ready);
      };
      this.#readyWaiters.add(done);
    });
  }

  /** The current incarnation is on its way out, though its death has not been handled yet. */
  get #ending(): boolean {
    return this.#endingReason !== undefined || this.control?.exitNotice !== undefined || this.child?.hasExited === true;
  }

  /**
   * This ready incarnation has died, its death not reported yet: its calls fail (or are about to), while
   * its report waits for its exit and last words (a few ms).
   */
  get dying(): boolean {
    return this.state === 'ready' && !this.#deathReported && (this.#ending || this.control?.closed === true);
  }

  /** Settles once the current incarnation's death is reported, or it ends with none (a close). */
  get deathReported(): Promise<unknown> {
    return this.#death.promise;
  }

  /** This worker will not be started again: whoever waits for it to be ready stops waiting. */
  gaveUp(): void {
    this.#gaveUp = true;
    this.#wakeReadyWaiters(false);
  }

  #wakeReadyWaiters(ready: boolean): void {
    for (const wake of [...this.#readyWaiters]) wake(ready);
  }

  /**
   * Ends the current incarnation at once (SIGKILL / terminate) as `reason` (kill, hung): new calls fail
   * now, and calls in flight fail as soon as what it sent before it stopped has been read. Returns what
   * settles once its death is reported (at once if there is no incarnation to end).
   */
  kill(reason: DeathReason): Promise<unknown> {
    const reported = this.#death.promise;
    if (!this.child || this.child.hasExited || this.#endingReason) return reported;
    if (this.control?.exitNotice) {
      // It said its last words: it is exiting by itself, and its death is the one they tell (its own exit
      // code: an exit with 0 is no failure, and is not restarted). It is stopped now, as it would be if it
      // did not finish exiting (see the grace in #connect), not reported as killed.
      this.#stopAfterLastWords(this.child);
      return reported;
    }
    this.#endingReason = reason;
    // A process of this host is sent SIGKILL: its calls fail now, before its exit says so, and say it too.
    const signal = this.kind === 'process' && this.host === undefined ? 'SIGKILL' : undefined;
    const error = diedError(this.name, reason, { signal });
    this.#peerDied(error);
    this.#env.onEnding(this, error);
    this.child.kill();
    return reported;
  }

  /**
   * The cluster is closing, and this incarnation's death, its calls failed, is still not established: what
   * would establish it later is done now, so that it is reported before the close goes on. One that said its
   * last words and has not finished exiting is stopped, as its exit grace would stop it (its death stays
   * the one they tell); one on another host whose agent has not reported it (an agent killed, its host not
   * yet judged down, which takes heartbeatTimeoutMs) is taken as lost, as its host's loss would have it.
   * Returns whether there was anything to do.
   */
  hastenDeath(): boolean {
    const child = this.child;
    if (!this.dying || !child || child.hasExited) return false;
    if (child instanceof RemoteChild) {
      child.hostLost(new HostDownError(child.host, `No word from host "${child.host}" of worker "${this.name}" before the cluster closed`));
      return true;
    }
    if (!this.control?.exitNotice) return false;
    this.#stopAfterLastWords(child);
    return true;
  }

  /** Stops an incarnation that said its last words: its death stays the one they tell (see #exited). */
  #stopAfterLastWords(child: Child): void {
    this.#stoppedAfterLastWords = true;
    child.kill();
  }

  /**
   * The cluster is shutting this worker down: it may exit by itself now, which is no death (no event, no
   * restart), and its control channel's close does not mean it died (nothing is killed for it).
   */
  shuttingDown(): void {
    this.#shuttingDown = true;
    this.#endsWithoutDeath();
  }

  /** The current incarnation ends with no death reported (no event, no restart); whoever waits for one stops. */
  #endsWithoutDeath(): void {
    this.#deathReported = true;
    this.#death.settle(undefined);
  }

  /** Forced stop as part of close(): no death event. */
  destroy(error: Error): void {
    this.state = 'closed';
    this.#wakeReadyWaiters(false);
    this.#endsWithoutDeath();
    this.link.destroy(error);
    this.control?.destroy(error);
    this.child?.kill();
  }

  #openControl(transport: Transport, incarnation: number): Endpoint {
    // Cleared first, so an early close never reads the previous incarnation's exit notice.
    this.control = undefined;
    const death = this.#death.promise;
    const channel = new Channel(transport, {
      ...this.#env.channel,
      closeError: (cause) => this.#closeError(cause),
    });
    const control = new Endpoint(channel, {
      api: this.#env.expose,
      system: this.#env.system(this),
      // A worker's pool tasks count against its window until they finish: its outstanding pool work is
      // bounded like its notifies. No call cycle passes through the pool.
      heldCalls: POOL_CALLS,
      peerName: this.name,
      localName: COORDINATOR,
      callTimeoutMs: this.#env.callTimeoutMs,
      explainClose: (error) => this.#explainClose(error, incarnation, death),
    });
    this.control = control;
    control.onLastWords(() => {
      const child = this.#running(incarnation);
      if (!child) return;
      // It said it is exiting by itself: stopping it now would race its own exit, and a thread
      // terminate()d while it exits is reported with exit code 1 instead of its own. It is stopped only
      // if it fails to finish exiting, counted from its last words, not from its channel's close: one
      // that hangs after them (an 'exit' listener that never returns; Node 20's error serialiser on some
      // errors) never closes its channel. Its death is still the one its last words told.
      const grace = setTimeout(() => {
        if (this.incarnation !== incarnation || child.hasExited) return;
        this.#stopAfterLastWords(child);
      }, this.#env.exitGraceMs).unref();
      void child.exited.then(() => clearTimeout(grace));
    });
    control.onClose(() => {
      const child = this.#running(incarnation);
      if (!child) return;
      // After last words, the grace above decides.
      if (control.exitNotice) return;
      // Otherwise the control channel closing is the first sign of a death (a thread's port closes before
      // its 'exit' event). Make sure it is really gone, so it cannot come back half-alive.
      this.#endingReason ??= 'disconnected';
      child.kill();
    });
    return control;
  }

  /**
   * A local worker's control channel that closes with no word of why (no last words, and not ended by us:
   * a signal from outside convoy) closes a few ms before or after its exit is seen. The coordinator's calls then
   * wait for that exit, which says how it died (`crash`, its signal), instead of failing as
   * `disconnected`, cut off from a worker that "may still run": at most EXIT_REPORT_WAIT_MS. A remote
   * worker's exit may never come (its host may be lost): its calls fail at once.
   */
  #explainClose(error: Error, incarnation: number, death: Promise<WorkerDiedError | undefined>): Promise<Error> | undefined {
    if (this.host !== undefined || !(error instanceof WorkerDiedError) || error.reason !== 'disconnected') return undefined;
    // Whether or not its exit has been seen yet: the exit and the close come in either order, and the
    // death is reported once both are in (it waits for the close to read any last words). Requiring the
    // child to be still running failed a quarter of a review's SIGKILLs as `disconnected`.
    if (!this.#current(incarnation)) return undefined;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), EXIT_REPORT_WAIT_MS)));
    return Promise.race([death, late])
      .then((died) => died ?? error)
      .finally(() => clearTimeout(timer));
  }

  /** The child of incarnation `incarnation`, exited or not, while the cluster is open and not shutting it down. */
  #current(incarnation: number): Child | undefined {
    return this.incarnation === incarnation && this.state !== 'closed' && !this.#shuttingDown ? this.child : undefined;
  }

  /** The child of incarnation `incarnation` while it still runs and the cluster is open; else undefined. */
  #running(incarnation: number): Child | undefined {
    const child = this.#current(incarnation);
    return child && !child.hasExited ? child : undefined;
  }

  #closeError(cause: Error | undefined): Error {
    // Closing: a worker that answered the shutdown may exit, and its channel close, before the answer is
    // taken in (over NATS its reset can come in the same read as the answer).
    if (this.state === 'closed' || this.#shuttingDown) return new ClusterClosedError();
    // A death we caused (kill, hang) is named by us; otherwise the worker's last words, if any, say how.
    if (this.#endingReason) return closedChannelError(this.name, undefined, this.#endingReason, cause);
    return closedChannelError(this.name, this.control?.exitNotice, 'disconnected', cause);
  }

  /** Calls to this incarnation fail with `error`, once what it sent before it died has been read. */
  #peerDied(error: WorkerDiedError): void {
    this.link.peerExited(this.incarnation, error);
    this.control?.channel.peerDied(error);
  }

  #exited(incarnation: number, exit: ExitInfo, waited = false): void {
    if (incarnation !== this.incarnation || this.#deathReported) return;
    const reading = waited ? undefined : this.#lastWordsRead(exit);
    if (reading) {
      void reading.then(() => {
        if (this.state !== 'closed') this.#exited(incarnation, exit, true);
      });
      return;
    }
    this.#deathReported = true;
    this.#env.forgetProcess(this.name);
    const error = this.#uncaught(exit);
    // A process that exits on an uncaught error has only an exit code to show for it: its last words
    // say it crashed.
    const lastWords = this.#lastWords(exit);
    // Stopped by us after its last words, its exit is what they told: our kill is no crash of its own.
    const crashed = this.#stoppedAfterLastWords ? lastWords?.crashed === true : exit.crashed || lastWords?.crashed === true;
    // A remote worker whose control channel was lost with no word (its own NATS connection cut, say) is
    // stopped by its agent on our word: its exit is that stop, not how it fared. It was cut off.
    const cutOff = this.host !== undefined && this.#endingReason === 'disconnected';
    // Last words that came in say how it ended, whatever is lost after them: a host found down once a
    // worker of it had crashed (its agent never got to report the exit) is no cut-off of that worker.
    const reason: DeathReason =
      this.#endingReason && this.#endingReason !== 'disconnected'
        ? this.#endingReason
        : (exit.disconnected || cutOff) && !lastWords
          ? 'disconnected'
          : crashed
            ? 'crash'
            : 'exit';
    // A worker stopped after its last words, because it did not finish exiting, exits with terminate()'s
    // code: the code it was exiting with is the one it told.
    const told = reason === 'crash' || reason === 'exit' ? lastWords?.exitCode : undefined;
    // A thread convoy ended exits with terminate()'s code, 1, which says nothing of it: it has none, as
    // the calls failed when it was ended had none.
    const terminated = (this.kind === 'thread' && (reason === 'killed' || reason === 'heartbeat')) || cutOff;
    const exitCode = told ?? (terminated ? undefined : exit.exitCode);
    // Nor is the signal that stopped it the one it died of.
    const signal = this.#stoppedAfterLastWords || cutOff ? undefined : exit.signal;
    const died = diedError(this.name, reason, { ...exit, exitCode, signal, error: reason === 'crash' ? error : undefined });
    this.#peerDied(died);
    const wasReady = this.state === 'ready';
    this.state = 'dead';
    const event: Omit<WorkerExitEvent, 'restarting'> = { name: this.name, reason, incarnation };
    if (exitCode !== undefined) event.exitCode = event.code = exitCode;
    if (signal !== undefined) event.signal = signal;
    if (reason === 'crash' && error) event.error = error;
    try {
      this.#env.onDeath(this, event, wasReady);
    } finally {
      // After its worker-exit, even one whose listener threw: whoever waits for the death (kill(), a
      // close) finds it reported.
      this.#death.settle(died);
    }
  }

  /**
   * Settles once the last words this incarnation sent before `exit` have been read; undefined when there
   * are none to wait for. They say whether, and with what, it crashed, and a busy coordinator can see a
   * thread's exit before its port has handed them over. The OS closes a local worker's port or socket as
   * it exits, after what it sent, so the channel's close marks them read (waited for at most
   * EXIT_REPORT_WAIT_MS). A remote worker's channel closes on its last words, which come only if it
   * exited by itself: its agent's report of a kill, or of a lost host, is not held up.
   */
  #lastWordsRead(exit: ExitInfo): Promise<void> | undefined {
    const control = this.control;
    const coming = this.host === undefined || (exit.signal === undefined && !exit.disconnected && !this.#endingReason);
    if (!coming || !control || control.closed) return undefined;
    return new Promise((resolve) => {
      // Past the wait, a channel still delivering what the worker sent before it died (slow handlers on
      // this side) is waited out: its last words come after the rest.
      const expire = (): void => {
        if (control.channel.draining) timer = setTimeout(expire, EXIT_REPORT_WAIT_MS);
        else resolve();
      };
      let timer = setTimeout(expire, EXIT_REPORT_WAIT_MS);
      control.onClose(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * The uncaught error this incarnation died of: from its last words (a `RemoteError`, as for the calls
   * its closing channel fails), else from its exit (a thread that failed before convoy's runtime ran).
   */
  #uncaught(exit: ExitInfo): Error | undefined {
    return uncaughtError(this.name, this.#lastWords(exit)) ?? exit.error;
  }

  /** What this incarnation said as it exited: on its control channel, or else over a process's IPC channel. */
  #lastWords(exit: ExitInfo): ExitNotice | undefined {
    return this.control?.exitNotice ?? exit.lastWords;
  }

  /**
   * Races `work` against the child's exit, so a worker that dies while starting rejects at once, and
   * against startTimeoutMs. `what` it was doing when it exited; `late`, what it did not do in time.
   */
  async #untilExit<T>(child: Child, work: Promise<T>, what: string, late = what): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Worker "${this.name}" did not ${late} within ${this.#env.startTimeoutMs} ms (startTimeoutMs)`)),
        this.#env.startTimeoutMs,
      );
    });
    const died = child.exited.then(async (exit) => {
      // Explained by its last words, as its death is (see #exited), not by whichever came first.
      await this.#lastWordsRead(exit);
      const error = this.#uncaught(exit);
      const how = error ? `: ${error.message}` : exit.signal ? ` (signal ${exit.signal})` : ` (exit code ${exit.exitCode})`;
      throw new Error(`Worker "${this.name}" exited before it could ${what}${how}`, error ? { cause: error } : undefined);
    });
    // A worker that dies while starting usually closes its control channel before its exit is known, and
    // the call cut off by that close can only say so: the exit says why (its code, or the error that
    // stopped a thread's bootstrap). It is waited for a little: a remote worker's exit may never come.
    let grace: NodeJS.Timeout | undefined;
    const explained = work.catch(async (error: unknown) => {
      if (error instanceof WorkerDiedError) {
        // Unref'd: when the exit has already settled the start, nothing clears this timer, and it must not
        // keep the process alive.
        await Promise.race([died, new Promise((resolve) => (grace = setTimeout(resolve, EXIT_REPORT_WAIT_MS).unref()))]);
      }
      throw error;
    });
    try {
      return await Promise.race([explained, died, deadline]);
    } finally {
      clearTimeout(timer);
      clearTimeout(grace);
    }
  }
}

/** An incarnation's death, to settle once: the error it died with, or undefined if it ended with none. */
interface Death {
  readonly promise: Promise<WorkerDiedError | undefined>;
  settle(died: WorkerDiedError | undefined): void;
}

function pendingDeath(): Death {
  let settle!: (died: WorkerDiedError | undefined) => void;
  const promise = new Promise<WorkerDiedError | undefined>((resolve) => (settle = resolve));
  return { promise, settle };
}

/** Before the first incarnation: nothing to wait for. */
function settledDeath(): Death {
  return { promise: Promise.resolve(undefined), settle() {} };
}
