// The thread transport's floor: raw MessagePort traffic to a worker thread, no RPC library.
//   pingpong      one postMessage per call envelope, structured clone
//   batch-clone   batches of 1000 envelopes, one postMessage per batch, structured clone
//   batch-msgpackr / batch-records   batches of 1000, msgpackr-packed (maps / records), buffer transferred
//   msgpackr      one envelope per message, msgpackr-packed, buffer transferred (latency only)

import type { MessagePort } from 'node:worker_threads';
import { withFixture, type Scenario, type ScenarioMeta } from '../harness.js';
import { INFLIGHT, RateMeter, SingleFlight, pipelineMs, roundTripCount, roundTrips } from '../measure.js';
import { startThread, stopThread, type Thread } from './spawn.js';
import { callBatch, callEnvelope, createCodec, type Codec } from './wire.mjs';

const SCRIPT = new URL('./port-echo-worker.mjs', import.meta.url);
const GROUP = 'thread transport (raw MessagePort)';

/** `INFLIGHT` envelopes outstanding, one postMessage each; a new one per reply. */
function pingPong(port: MessagePort, durationMs: number): Promise<number> {
  return new Promise((resolve) => {
    const meter = new RateMeter(durationMs);
    let nextId = 0;
    let outstanding = 0;
    const send = (): void => {
      outstanding++;
      port.postMessage(callEnvelope(nextId++));
    };
    const onReply = (): void => {
      meter.completed++;
      outstanding--;
      if (meter.open) send();
      else if (outstanding === 0) {
        port.off('message', onReply);
        resolve(meter.perSecond());
      }
    };
    port.on('message', onReply);
    for (let i = 0; i < INFLIGHT; i++) send();
  });
}

/** One batch of `INFLIGHT` envelopes in flight; the next goes when its reply batch is back. */
function batches(port: MessagePort, durationMs: number, codec: Codec | undefined): Promise<number> {
  return new Promise((resolve) => {
    const meter = new RateMeter(durationMs);
    let nextId = 0;
    const send = (): void => {
      const batch = callBatch(nextId, INFLIGHT);
      nextId += INFLIGHT;
      if (!codec) {
        port.postMessage(batch);
        return;
      }
      const bytes = codec.encode(batch);
      port.postMessage(bytes.buffer, [bytes.buffer]);
    };
    const onReply = (msg: unknown): void => {
      const replies = (codec ? codec.decode(new Uint8Array(msg as ArrayBuffer)) : msg) as unknown[];
      meter.completed += replies.length;
      if (meter.open) {
        send();
        return;
      }
      port.off('message', onReply);
      resolve(meter.perSecond());
    };
    port.on('message', onReply);
    send();
  });
}

/** Sequential round trips of one envelope, cloned or msgpackr-packed and transferred. */
async function rtt(port: MessagePort, count: number, codec: Codec | undefined) {
  const flight = new SingleFlight();
  const onReply = (msg: unknown): void => {
    if (codec) codec.decode(new Uint8Array(msg as ArrayBuffer));
    flight.settle();
  };
  let nextId = 0;
  const send = (): void => {
    if (!codec) {
      port.postMessage(callEnvelope(nextId++));
      return;
    }
    const bytes = codec.encode(callEnvelope(nextId++));
    port.postMessage(bytes.buffer, [bytes.buffer]);
  };
  port.on('message', onReply);
  try {
    return await roundTrips(() => flight.call(send), count);
  } finally {
    port.off('message', onReply);
  }
}

type Wire = 'clone' | 'maps' | 'records';

function portScenario(meta: Omit<ScenarioMeta, 'group'>, wire: Wire, kind: 'pipelined' | 'batch' | 'rtt'): Scenario {
  const records = wire === 'records';
  const codec = wire === 'clone' ? undefined : createCodec(records);
  return withFixture<Thread>(
    { group: GROUP, ...meta },
    {
      open: () => startThread(SCRIPT, { records }),
      measure: (t, o) => {
        if (kind === 'pipelined') return pingPong(t.port, pipelineMs(o));
        if (kind === 'batch') return batches(t.port, pipelineMs(o), codec);
        return rtt(t.port, roundTripCount(o), codec);
      },
      close: stopThread,
    },
  );
}

const tput = { unit: 'calls/s', higherIsBetter: true } as const;
const lat = { unit: 'µs', higherIsBetter: false } as const;

export const portRawScenarios: Scenario[] = [
  portScenario({ name: 'port/pingpong/pipelined', ...tput }, 'clone', 'pipelined'),
  portScenario({ name: 'port/pingpong/rtt', ...lat }, 'clone', 'rtt'),
  portScenario({ name: 'port/msgpackr/rtt', ...lat, baseline: 'port/pingpong/rtt' }, 'maps', 'rtt'),
  portScenario({ name: 'port/batch-clone/pipelined', ...tput, baseline: 'port/pingpong/pipelined' }, 'clone', 'batch'),
  portScenario({ name: 'port/batch-msgpackr/pipelined', ...tput, baseline: 'port/pingpong/pipelined' }, 'maps', 'batch'),
  portScenario({ name: 'port/batch-records/pipelined', ...tput, baseline: 'port/pingpong/pipelined' }, 'records', 'batch'),
];
