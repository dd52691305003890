/**
 * The mesh's wiring, seen from the coordinator. A pair's channel opens on its first use: the first worker
 * with a call for the other asks (`\0open`), and the coordinator — the one place that sees both — opens
 * exactly one channel for the pair, numbers it, and hands it to both sides. Both asking at once get the
 * same channel. Nothing is wired at start, so a cluster starts in the time its workers take to load, and
 * a pair that never talks costs nothing.
 *
 * Also here: telling the workers when an incarnation of a peer ended, so they drop its channel.
 */
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
  opening: Promise<boolean>;
}

export class Wiring {
  readonly #handles: ReadonlyMap<string, WorkerHandle>;
  /** Each worker's position in the cluster, for the dialing rule. */
  readonly #order = new Map<string, number>();
  readonly #host: string;
  readonly #timeoutMs: number;
  readonly #shm: SharedMemoryPlan | undefined;
  /** The latest channel of each pair, by the pair's two names. */
  readonly #pairs = new Map<string, PairRecord>();
  /** The last end of each worker's incarnation that will not be followed by another. */
  readonly #finalExits = new Map<string, PeerExit>();
  #nextPair = 0;

  /**
   * `handles` in spec order; `timeoutMs` bounds how long an open waits for a peer and for its channel;
   * `shm` picks the thread pairs on rings.
   */
  constructor(handles: readonly WorkerHandle[], host: string, timeoutMs: number, shm?: SharedMemoryPlan) {
    this.#handles = new Map(handles.map((handle) => [handle.name, handle]));
    for (const [index, handle] of handles.entries()) this.#order.set(handle.name, index);
    this.#host = host;
    this.#timeoutMs = timeoutMs;
    this.#shm = shm;
  }

  /**
   * Opens the channel between `requester` and `peerName`, or joins the opening under way. `had` is the
   * pair number of the channel the requester last had (0: none): a record with that number was lost on
   * the requester's side and is replaced; any newer one is on its way to it. Waits for a peer that is
   * starting or restarting; answers `ok: false` when the peer is gone for good or not ready in time.
   */
  async open(requester: WorkerHandle, peerName: string, had: number): Promise<OpenReply> {
    const peer = this.#handles.get(peerName);
    if (!peer || peer === requester) return { ok: false };
    const deadline = performance.now() + this.#timeoutMs;
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0 || !(await peer.whenReady(left))) return this.#gone(peer);
      if (requester.state !== 'ready' && requester.state !== 'starting') return { ok: false };
      const key = pairKey(requester.name, peer.name);
      let record = this.#pairs.get(key);
      if (!record || record.pair === had || !this.#current(record, requester, peer)) {
        record = this.#plan(requester, peer);
        this.#pairs.set(key, record);
      }
      if (await record.opening) return { ok: true };
      if (this.#pairs.get(key) === record) this.#pairs.delete(key);
      // The peer (or the requester) died while the pair was being opened: try again with who is there now.
      // Both alive and the dial still failed (a loaded machine can miss a handshake deadline): pause first.
      if (this.#current(record, requester, peer)) await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
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
    if (!event.restarting) this.#finalExits.set(handle.name, exit);
    for (const other of this.#handles.values()) {
      if (other !== handle && (other.state === 'ready' || other.state === 'starting')) void other.control?.notify(System.peerExit, [exit]);
    }
  }

  /** A channel for the current incarnations of `a` and `b`, resolving false if either dies before it is up. */
  #plan(a: WorkerHandle, b: WorkerHandle): PairRecord {
    const pair = ++this.#nextPair;
    const incarnations = new Map([
      [a.name, a.incarnation],
      [b.name, b.incarnation],
    ]);
    const plan = planPair(a, b, pair, this.#order, this.#host, this.#shm);
    let opening: Promise<boolean>;
    if (plan.via === 'port') {
      for (const [to, handoff] of plan.handoffs) to.child?.handOff?.(handoff);
      opening = Promise.resolve(true);
    } else {
      const control = plan.dialer.control;
      opening = control
        ? control.call(System.connect, [plan.plan], { timeoutMs: this.#timeoutMs }).then(
            () => true,
            () => false,
          )
        : Promise.resolve(false);
    }
    return { incarnations, pair, opening };
  }

  #current(record: PairRecord, a: WorkerHandle, b: WorkerHandle): boolean {
    return record.incarnations.get(a.name) === a.incarnation && record.incarnations.get(b.name) === b.incarnation;
  }

  #gone(peer: WorkerHandle): OpenReply {
    const exit = this.#finalExits.get(peer.name);
    return exit ? { ok: false, exit } : { ok: false };
  }
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}\0${b}` : `${b}\0${a}`;
}
