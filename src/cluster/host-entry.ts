/**
 * One agent's host as the coordinator knows it: the session sealed with it, when it was last heard
 * from, the workers it started for us and the spawns it has not answered yet.
 */
import { HostDownError } from '../agent/errors.js';
import type { RemoteSpawn, ToAgent, ToCoordinator } from '../agent/protocol.js';
import type { Sealer } from '../agent/seal.js';
import type { Bootstrap } from '../protocol/control.js';
import { RemoteChild } from './remote-child.js';

export interface HostInfo {
  name: string;
  state: 'up' | 'down';
  /** The agent's process id on its host. */
  pid: number;
  /** Workers it runs for this cluster now. */
  workers: number;
  /** `Date.now()` of the last change of state. */
  since: number;
}

interface PendingSpawn {
  resolve(child: RemoteChild): void;
  reject(error: Error): void;
}

export class HostEntry {
  readonly name: string;
  readonly pid: number;
  /** The agent's nonce of the join: an idle announce proves it left this session over it (Announce.left). */
  readonly agentNonce: Uint8Array;
  readonly sealer: Sealer;
  readonly #send: (bytes: Uint8Array) => void;
  readonly #children = new Map<number, RemoteChild>();
  readonly #spawning = new Map<number, PendingSpawn>();
  #nextId = 0;
  lastHeard = performance.now();
  up = true;
  since = Date.now();

  constructor(name: string, pid: number, agentNonce: Uint8Array, sealer: Sealer, send: (bytes: Uint8Array) => void) {
    this.name = name;
    this.pid = pid;
    this.agentNonce = agentNonce;
    this.sealer = sealer;
    this.#send = send;
  }

  info(): HostInfo {
    return { name: this.name, state: this.up ? 'up' : 'down', pid: this.pid, workers: this.#children.size, since: this.since };
  }

  send(message: ToAgent): void {
    this.#send(this.sealer.seal(message));
  }

  spawn(boot: Bootstrap, spawn: RemoteSpawn): Promise<RemoteChild> {
    if (!this.up) return Promise.reject(new HostDownError(this.name, `Host "${this.name}" is down`));
    const id = ++this.#nextId;
    return new Promise((resolve, reject) => {
      this.#spawning.set(id, { resolve, reject });
      this.send({ t: 'spawn', id, boot, spawn });
    });
  }

  /** A sealed message from the agent, already opened. */
  receive(message: ToCoordinator): void {
    this.lastHeard = performance.now();
    switch (message.t) {
      case 'spawned': {
        const pending = this.#spawning.get(message.id);
        if (!pending) return;
        this.#spawning.delete(message.id);
        const child = new RemoteChild(this.name, message.id, message, () => this.up && this.send({ t: 'kill', id: message.id }));
        this.#children.set(message.id, child);
        void child.exited.then(() => this.#children.delete(message.id));
        pending.resolve(child);
        return;
      }
      case 'spawn-failed':
        this.#spawning.get(message.id)?.reject(new Error(`Host "${this.name}" could not start the worker: ${message.message}`));
        this.#spawning.delete(message.id);
        return;
      case 'exited': {
        const exit: Parameters<RemoteChild['reportExit']>[0] = { crashed: message.crashed };
        if (message.exitCode !== undefined) exit.exitCode = message.exitCode;
        if (message.signal !== undefined) exit.signal = message.signal;
        if (message.message !== undefined) exit.error = new Error(message.message);
        this.#children.get(message.id)?.reportExit(exit);
        return;
      }
    }
  }

  /** The host is gone: its workers count as exited, its unanswered spawns fail. Idempotent. */
  down(reason: string): HostDownError | undefined {
    if (!this.up) return undefined;
    this.up = false;
    this.since = Date.now();
    const error = new HostDownError(this.name, `Host "${this.name}" is down: ${reason}`);
    for (const pending of this.#spawning.values()) pending.reject(error);
    this.#spawning.clear();
    for (const child of this.#children.values()) child.hostLost(error);
    return error;
  }
}
