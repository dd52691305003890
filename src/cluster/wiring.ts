/**
 * The mesh's wiring, seen from the coordinator. A pair's channel opens on its first use: the first worker
 * with a call for the other asks (`\0open`), and the coordinator — the one place that sees both — opens
 * exactly one channel for the pair, numbers it, and hands it to both sides. Both asking at once get the
 * same channel. Nothing is wired at start, so a cluster starts in the time its workers take to load, and
 * a pair that never talks costs nothing.
 *
 * Also here: telling the workers when an incarnation of a peer ended, so they drop its channel.
 */
import type { PairEnd } from '../agent/protocol.js';
import { type WorkerDiedError, passedOnDeathErrorToWire, toError } from '../errors.js';
import { type OpenReply, type PeerExit, System } from '../protocol/control.js';
import { planPair } from './mesh.js';
import type { SharedMemoryPlan } from './shared-memory.js';
import type { WorkerExitEvent } from './types.js';
import type { WorkerHandle } from './worker-handle.js';

/** Pause before dialing again a pair whose dial failed while both sides lived. */
const RETRY_MS = 50;

interface PairRecord {
  /** The incarnations it connects, by worker name. */
  incarnations: ReadonlyMap<string, number>;
  pair: number;
  /** True once the channel is on its way to both sides; false, or why not when known, if it failed. */
  opening: Promise<true | false | string>;
}

export interface WiringConfig {
  /** Where the coordinator's own processes listen. */
  listenHost: string;
  /** How long an open waits for a peer that is starting, and keeps dialing a live one that refuses. */
  timeoutMs: number;
  /** Asks an agent to connect two of its threads; false if it cannot be asked (its host is down). */
  pairAgentThreads(host: string, pair: number, ends: [PairEnd, PairEnd]): boolean;
  /** Which of the coordinator's thread pairs use shared-memory rings. */
  shm?: SharedMemoryPlan;
}

export class Wiring {
  readonly #handles: ReadonlyMap<string, WorkerHandle>;
  /** Each worker's position in the cluster, for the dialing rule. */
  readonly #order = new Map<string, number>();
  readonly #config: WiringConfig;
  readonly #timeoutMs: number;
  /** The latest channel of each pair, by the pair's two names. */
  readonly #pairs = new Map<string, PairRecord>();
  /** The last end of each worker's incarnation that will not be followed by another. */
  readonly #finalExits = new Map<string, PeerExit>();
  #nextPair = 0;

  /** `handles` in spec order. */
  constructor(handles: readonly WorkerHandle[], config: WiringConfig) {
    this.#handles = new Map(handles.map((handle) => [handle.name, handle]));
    for (const [index, handle] of handles.entries()) this.#order.set(handle.name, index);
    this.#config = config;
    this.#timeoutMs = config.timeoutMs;
  }

  /**
   * Opens the channel between incarnation `incarnation` of `requester` and `peerName`, or joins the opening
   * under way. `had` is the pair number of the channel the requester last had (0: none): a record with that
   * number was lost on the requester's side and is replaced; any newer one is on its way to it. Waits for
   * a peer that is starting or restarting (each time up to the timeout), and for a live one that is busy
   * (as long as it lives); answers `ok: false` when the peer is gone for good or not ready in time, when
   * dials between two live workers kept failing for the timeout, and when the asking incarnation ended
   * meanwhile. Its successor asks for its own channels: one handed to it in the middle of its start would
   * be bound before its handlers exist.
   */
  async open(requester: WorkerHandle, incarnation: number, peerName: string, had: number): Promise<OpenReply> {
    const peer = this.#handles.get(peerName);
    if (!peer || peer === requester) return { ok: false };
    let failedSince: number | undefined;
    let failure: string | undefined;
    for (;;) {
      if (!(await peer.whenReady(this.#timeoutMs))) return this.#gone(peer);
      if (requester.incarnation !== incarnation || (requester.state !== 'ready' && requester.state !== 'starting')) return { ok: false };
      const key = pairKey(requester.name, peer.name);
      let record = this.#pairs.get(key);
      if (!record || record.pair === had || !this.#current(record, requester, peer)) {
        record = this.#plan(requester, peer);
        this.#pairs.set(key, record);
      }
      const opened = await record.opening;
      if (opened === true) return { ok: true };
      if (this.#pairs.get(key) === record) this.#pairs.delete(key);
      // The peer (or the requester) died while the pair was being opened: try again with who is there now.
      if (!this.#current(record, requester, peer)) continue;
      // Both alive and the dial still failed (the listener refused or dropped the connection): pause, and
      // give up once that has gone on for the timeout.
      if (typeof opened === 'string') failure = opened;
      const now = performance.now();
      failedSince ??= now;
      if (now - failedSince >= this.#timeoutMs) return this.#gone(peer, failure);
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }

  /**
   * Tells every other live worker that `handle`'s incarnation ended — those starting too, since they may
   * have opened a channel to it. `silent` keeps it from user code (an incarnation that died before it was
   * ready). A final end (no restart) is remembered, for opens that come later.
   */
  tellPeers(handle: WorkerHandle, event: WorkerExitEvent, silent = false): void {
    const exit: PeerExit = { name: handle.name, incarnation: event.incarnation, reason: event.reason, restarting: event.restarting };
    if (silent) exit.silent = true;
    if (event.exitCode !== undefined) exit.exitCode = event.exitCode;
    if (event.signal !== undefined) exit.signal = event.signal;
    if (event.error) exit.error = passedOnDeathErrorToWire(event.error);
    if (!event.restarting) this.#finalExits.set(handle.name, exit);
    for (const other of this.#handles.values()) {
      if (other !== handle && (other.state === 'ready' || other.state === 'starting')) void other.control?.notify(System.peerExit, [exit]);
    }
  }

  /**
   * Tells the other workers, before the coordinator ends `handle`'s incarnation (kill, hung), how it is
   * about to die: a worker's call in flight to it then fails with that reason, rather than with
   * `disconnected` when its channel closes first, as it would: the word is posted before the worker is
   * stopped, though on another port. Silent (no 'peer-exit' yet: that comes with its exit) and not final.
   */
  tellEnding(handle: WorkerHandle, error: WorkerDiedError): void {
    const event: WorkerExitEvent = { name: handle.name, reason: error.reason, incarnation: handle.incarnation, restarting: true };
    if (error.signal !== undefined) event.signal = error.signal;
    this.tellPeers(handle, event, true);
    // Now, not at the end of the turn: the worker is stopped before then.
    for (const other of this.#handles.values()) if (other !== handle) other.control?.channel.flushNow();
  }

  /** A channel for the current incarnations of `a` and `b`, resolving false if either dies before it is up. */
  #plan(a: WorkerHandle, b: WorkerHandle): PairRecord {
    const pair = ++this.#nextPair;
    const incarnations = new Map([
      [a.name, a.incarnation],
      [b.name, b.incarnation],
    ]);
    const plan = planPair(a, b, pair, this.#order, this.#config.listenHost, this.#config.shm);
    let opening: Promise<true | false | string>;
    switch (plan.via) {
      case 'port':
        for (const [to, handoff] of plan.handoffs) to.child?.handOff?.(handoff);
        opening = Promise.resolve(true);
        break;
      case 'agent-port':
        opening = Promise.resolve(this.#config.pairAgentThreads(plan.host, pair, plan.ends));
        break;
      case 'tcp': {
        const { dialer, listener } = plan;
        opening = listener.listen().then(
          (port) => this.#tell(dialer, System.connect, { ...plan.plan, port }),
          (error: unknown) => `${listener.name} could not listen: ${toError(error).message}`,
        );
        break;
      }
      case 'nats': {
        const bound = plan.binds.map(([to, bind]) => this.#tell(to, System.natsPair, bind));
        opening = Promise.all(bound).then((both) =>
          both.every((end) => end === true) ? true : (both.find((end) => typeof end === 'string') ?? false),
        );
        break;
      }
    }
    return { incarnations, pair, opening };
  }

  /**
   * One of convoy's calls to `handle`: true once it answered, why not if it failed, false if it could not
   * be made.
   * No deadline: the word waits in line behind whatever the coordinator sent the worker before it, which
   * a busy worker may take long to get through. Given up on a live worker, it would still be carried
   * out, and the pair planned again in its place would replace a channel already in use, failing its
   * calls. A worker that stops answering is ended by the heartbeat, and the call fails then.
   */
  #tell(handle: WorkerHandle, method: string, plan: unknown): Promise<true | false | string> {
    const control = handle.control;
    if (!control) return Promise.resolve(false);
    return control.call(method, [plan], { timeoutMs: 0 }).then(
      () => true as const,
      (error: unknown) => `${handle.name} could not open its end: ${toError(error).message}`,
    );
  }

  #current(record: PairRecord, a: WorkerHandle, b: WorkerHandle): boolean {
    return record.incarnations.get(a.name) === a.incarnation && record.incarnations.get(b.name) === b.incarnation;
  }

  #gone(peer: WorkerHandle, failure?: string): OpenReply {
    const exit = this.#finalExits.get(peer.name);
    if (exit) return { ok: false, exit };
    return failure === undefined ? { ok: false } : { ok: false, reason: failure };
  }
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}\0${b}` : `${b}\0${a}`;
}
