/** A transport that records a copy of every frame sent through it, then sends it on. */
import type { Transport, TransportHandlers } from '../../src/transport/transport.js';

export class RecordingTransport implements Transport {
  readonly kind = 'recording';
  readonly frames: Uint8Array[] = [];
  constructor(readonly inner: Transport) {}
  get closed(): boolean {
    return this.inner.closed;
  }
  get label(): string {
    return this.inner.label;
  }
  get transfers(): boolean {
    return this.inner.transfers;
  }
  send(frame: Uint8Array): boolean {
    this.frames.push(frame.slice());
    return this.inner.send(frame);
  }
  start(handlers: TransportHandlers): void {
    this.inner.start(handlers);
  }
  close(): void {
    this.inner.close();
  }
  destroy(error?: Error): void {
    this.inner.destroy(error);
  }
}
