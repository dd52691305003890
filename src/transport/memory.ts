/**
 * An in-memory transport pair for tests: frames are copied, as a real transport would, and delivered
 * asynchronously in order, one macrotask later. With `framesPerTurn`, a receiver takes at most that many
 * frames per macrotask, as a busy receiver on a real transport falls behind: the other side's close then
 * arrives while frames still wait, and must be reported only after they are delivered.
 */
import { CloseOnce, type Transport, type TransportHandlers } from './transport.js';

export interface MemoryTransportOptions {
  /** Frames delivered per macrotask at most. @default Infinity */
  framesPerTurn?: number;
}

class MemoryTransport implements Transport {
  readonly kind = 'memory';
  readonly label = 'memory';
  readonly #framesPerTurn: number;
  readonly transfers = true;
  other!: MemoryTransport;
  readonly #closeOnce = new CloseOnce();
  #handlers: TransportHandlers | undefined;
  #inbox: [Uint8Array, ArrayBuffer[] | undefined][] = [];
  #delivering = false;
  /** Set when the other side closed cleanly: report close after the inbox drains. */
  #closing = false;

  constructor({ framesPerTurn = Number.POSITIVE_INFINITY }: MemoryTransportOptions = {}) {
    this.#framesPerTurn = framesPerTurn;
  }

  get closed(): boolean {
    return this.#closeOnce.done;
  }

  send(frame: Uint8Array, transfer?: ArrayBuffer[]): boolean {
    if (this.closed || this.#closing) return false;
    // Transferred buffers are handed over as they are: the channel already took them from their owner.
    this.other.#receive(frame.slice(), transfer);
    return true;
  }

  start(handlers: TransportHandlers): void {
    this.#handlers = handlers;
    this.#closeOnce.attach(handlers);
    this.#schedule();
  }

  close(): void {
    if (this.closed || this.#closing) return;
    this.#closing = true;
    this.other.#remoteClosed();
    this.#schedule();
  }

  destroy(error?: Error): void {
    if (this.closed) return;
    this.#inbox = [];
    this.#closeOnce.report(error);
    this.other.#remoteClosed();
  }

  #receive(frame: Uint8Array, transfer: ArrayBuffer[] | undefined): void {
    if (this.closed) return;
    this.#inbox.push([frame, transfer]);
    this.#schedule();
  }

  #remoteClosed(): void {
    this.#closing = true;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#delivering || !this.#handlers) return;
    this.#delivering = true;
    setImmediate(() => {
      this.#delivering = false;
      const frames = this.#inbox.splice(0, this.#framesPerTurn);
      for (const [frame, transfer] of frames) {
        if (this.closed) return;
        this.#handlers!.frame(frame, transfer);
      }
      if (this.#inbox.length > 0) this.#schedule();
      else if (this.#closing) this.#closeOnce.report();
    });
  }
}

/** Two connected transports: what one sends, the other receives. */
export function createMemoryTransportPair(options?: MemoryTransportOptions): [Transport, Transport] {
  const a = new MemoryTransport(options);
  const b = new MemoryTransport(options);
  a.other = b;
  b.other = a;
  return [a, b];
}
