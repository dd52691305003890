// The floors bench/shm.ts puts convoy's thread transports between: a raw MessagePort round trip (to a
// thread, and from one thread to another), a round trip through a SharedArrayBuffer flag with the
// answering thread spinning (the physical floor), and one with both sides asleep in Atomics.waitAsync
// (what a wake through the event loop costs), with the one-way wake latency measured on the far side.

import { once } from 'node:events';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { type Latency, SingleFlight, percentile, roundTrips } from './measure.js';

const SCRIPT = new URL('./fixtures/shm-floor-worker.mjs', import.meta.url);
const REQUEST = 0;
const REPLY = 8;
const STOP = -1;
const wallNow = (): number => performance.timeOrigin + performance.now();
/** The most one busy-spin window may take. */
const SPIN_BUDGET_MS = 2000;
/** Node 20 has Atomics.waitAsync; the TypeScript lib this project compiles against does not declare it. */
const { waitAsync } = Atomics as unknown as {
  waitAsync(array: Int32Array, index: number, value: number): { async: boolean; value: Promise<string> | string };
};

interface FloorThread {
  worker: Worker;
  control: MessagePort;
  /** Sends a command, resolves with the thread's answer. */
  ask<T = unknown>(command: object, transfer?: MessagePort[]): Promise<T>;
}

async function startFloorThread(): Promise<FloorThread> {
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(SCRIPT, { workerData: { control: port2 }, transferList: [port2] });
  await once(port1, 'message');
  return {
    worker,
    control: port1,
    async ask<T>(command: object, transfer: MessagePort[] = []): Promise<T> {
      port1.postMessage(command, transfer);
      const [answer] = await once(port1, 'message');
      return answer as T;
    },
  };
}

export interface Floors {
  /** Raw MessagePort, this thread ↔ a worker thread: `count` round trips. */
  portRtt(count: number): Promise<Latency>;
  /** Raw MessagePort, worker thread ↔ worker thread. */
  portPeerRtt(count: number): Promise<Latency>;
  /** Both sides spin on shared flags: the physical floor. */
  spinRtt(count: number): Promise<Latency>;
  /** Both sides sleep in Atomics.waitAsync; `wake` is the far side's one-way wake latency. */
  waitAsyncRtt(count: number): Promise<Latency & { wakeP50: number; wakeP99: number }>;
  close(): Promise<void>;
}

export async function startFloors(): Promise<Floors> {
  const a = await startFloorThread();
  const b = await startFloorThread();
  const toA = new MessageChannel();
  await a.ask({ op: 'echo', port: toA.port2 }, [toA.port2]);
  const aToB = new MessageChannel();
  await b.ask({ op: 'echo', port: aToB.port2 }, [aToB.port2]);
  await a.ask({ op: 'peer', port: aToB.port1 }, [aToB.port1]);

  const flight = new SingleFlight();
  toA.port1.on('message', () => flight.settle());
  let seq = 0;

  return {
    portRtt: (count) => roundTrips(() => flight.call(() => toA.port1.postMessage(seq++)), count),
    portPeerRtt: (count) => a.ask<Latency>({ op: 'ping', count }),
    async spinRtt(count) {
      const sab = new SharedArrayBuffer(128);
      const i32 = new Int32Array(sab);
      await a.ask({ op: 'spin', sab });
      // On a loaded machine a spinning side may wait out whole time slices of the other: bounded in time.
      const deadline = performance.now() + SPIN_BUDGET_MS;
      const us: number[] = [];
      for (let i = 1; i <= count && performance.now() < deadline; i++) {
        const t0 = performance.now();
        Atomics.store(i32, REQUEST, i);
        while (Atomics.load(i32, REPLY) !== i);
        us.push((performance.now() - t0) * 1000);
      }
      Atomics.store(i32, REQUEST, STOP);
      return summary(Float64Array.from(us));
    },
    async waitAsyncRtt(count) {
      const sab = new SharedArrayBuffer(128);
      const i32 = new Int32Array(sab);
      const wall = new Float64Array(sab);
      await a.ask({ op: 'sleep', sab });
      const wakes = once(a.control, 'message');
      const us = new Float64Array(count);
      for (let i = 1; i <= count; i++) {
        const t0 = performance.now();
        wall[8] = wallNow();
        Atomics.store(i32, REQUEST, i);
        Atomics.notify(i32, REQUEST);
        for (;;) {
          const reply = Atomics.load(i32, REPLY);
          if (reply === i) break;
          const waited = waitAsync(i32, REPLY, reply);
          if (waited.async) await waited.value;
        }
        us[i - 1] = (performance.now() - t0) * 1000;
      }
      Atomics.store(i32, REQUEST, STOP);
      Atomics.notify(i32, REQUEST);
      const [delays] = (await wakes) as [number[]];
      const wake = Float64Array.from(delays).sort();
      return { ...summary(us), wakeP50: percentile(wake, 0.5), wakeP99: percentile(wake, 0.99) };
    },
    async close() {
      toA.port1.close();
      a.control.close();
      b.control.close();
      await Promise.all([a.worker.terminate(), b.worker.terminate()]);
    },
  };
}

function summary(us: Float64Array): Latency {
  us.sort();
  return { p50: percentile(us, 0.5), p99: percentile(us, 0.99) };
}
