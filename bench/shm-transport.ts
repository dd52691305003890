// The thread transports alone, without the channel and RPC above them: frames echoed by a thread over a
// convoy PortTransport or ShmTransport (with and without spinMicros). What the ring saves per frame is the
// most it can save a call; bench/shm.ts holds it against what a call costs.

import { MessageChannel, Worker } from 'node:worker_threads';
import type { Transport } from '../src/transport/transport.js';
import { type Latency, SingleFlight, roundTrips } from './measure.js';

type Internals = typeof import('../src/internals.js');

const SCRIPT = new URL('./fixtures/shm-echo-worker.mjs', import.meta.url);

export interface EchoLink {
  /** Frames echoed per second with `inflight` outstanding. */
  pipelined(frameBytes: number, inflight: number, durationMs: number): Promise<number>;
  rtt(frameBytes: number, count: number): Promise<Latency>;
  close(): Promise<void>;
}

/**
 * A thread echoing frames over a port transport (`ring` undefined) or a ring of `ring.bytes`; `index` is
 * the file of `internals`, which the thread loads too.
 */
export async function startEcho(internals: Internals, index: string, ring?: { bytes: number; spinMicros: number }): Promise<EchoLink> {
  const { port1, port2 } = new MessageChannel();
  const ends = ring ? internals.createShmPair(ring.bytes, ring.spinMicros) : undefined;
  const worker = new Worker(SCRIPT, { workerData: { index, port: port2, end: ends?.[1] }, transferList: [port2] });
  const transport: Transport = ends ? new internals.ShmTransport(port1, ends[0]) : new internals.PortTransport(port1);
  let onFrame = (): void => {};
  let onDrain = (): void => {};
  transport.start({ frame: () => onFrame(), close() {}, drain: () => onDrain() });
  // The first echo says the thread is up.
  const up = new Promise<void>((resolve) => (onFrame = resolve));
  transport.send(new Uint8Array(8));
  await up;
  return {
    pipelined(frameBytes, inflight, durationMs) {
      return new Promise((resolve) => {
        const started = performance.now();
        const open = (): boolean => performance.now() - started < durationMs;
        let completed = 0;
        let outstanding = 0;
        let blocked = false;
        const send = (): void => {
          outstanding++;
          if (!transport.send(new Uint8Array(frameBytes))) blocked = true;
        };
        onDrain = () => {
          blocked = false;
          while (!blocked && open() && outstanding < inflight) send();
        };
        onFrame = () => {
          completed++;
          outstanding--;
          if (open()) {
            if (!blocked) send();
          } else if (outstanding === 0) resolve((completed * 1000) / (performance.now() - started));
        };
        for (let i = 0; i < inflight && !blocked; i++) send();
      });
    },
    rtt(frameBytes, count) {
      const flight = new SingleFlight();
      onFrame = () => flight.settle();
      return roundTrips(() => flight.call(() => transport.send(new Uint8Array(frameBytes))), count);
    },
    async close() {
      transport.destroy();
      port1.close();
      await worker.terminate();
    },
  };
}
