// The process transport's floor: raw TCP on 127.0.0.1 to a forked child, u32-length-prefixed msgpackr
// frames, Nagle off, no RPC library.
//   pingpong     one frame and one socket.write per call envelope
//   batch-msgpackr / batch-records   one frame holding an array of 1000 envelopes per write (maps / records)

import type net from 'node:net';
import { withFixture, type Scenario, type ScenarioMeta } from '../harness.js';
import { INFLIGHT, RateMeter, SingleFlight, pipelineMs, roundTripCount, roundTrips } from '../measure.js';
import { startChild, stopChild, type Child } from './spawn.js';
import { FrameReader, callBatch, callEnvelope, createCodec, type Codec } from './wire.mjs';

const SCRIPT = new URL('./tcp-echo-child.mjs', import.meta.url);
const GROUP = 'process transport (raw TCP)';

/** Feeds the socket's frames, decoded, to `onMessage` until the returned function is called. */
function listen(socket: net.Socket, codec: Codec, onMessage: (msg: unknown) => void): () => void {
  const reader = new FrameReader((payload) => onMessage(codec.decode(payload)));
  const onData = (chunk: Buffer): void => reader.push(chunk);
  socket.on('data', onData);
  return () => socket.off('data', onData);
}

/** `INFLIGHT` envelopes outstanding, one frame and one write each; a new one per reply. */
function pingPong(socket: net.Socket, codec: Codec, durationMs: number): Promise<number> {
  return new Promise((resolve) => {
    const meter = new RateMeter(durationMs);
    let nextId = 0;
    let outstanding = 0;
    const send = (): void => {
      outstanding++;
      socket.write(codec.encodeFrame(callEnvelope(nextId++)));
    };
    const stop = listen(socket, codec, () => {
      meter.completed++;
      outstanding--;
      if (meter.open) send();
      else if (outstanding === 0) {
        stop();
        resolve(meter.perSecond());
      }
    });
    for (let i = 0; i < INFLIGHT; i++) send();
  });
}

/** One frame holding `INFLIGHT` envelopes in flight; the next goes when its reply frame is back. */
function batches(socket: net.Socket, codec: Codec, durationMs: number): Promise<number> {
  return new Promise((resolve) => {
    const meter = new RateMeter(durationMs);
    let nextId = 0;
    const send = (): void => {
      socket.write(codec.encodeFrame(callBatch(nextId, INFLIGHT)));
      nextId += INFLIGHT;
    };
    const stop = listen(socket, codec, (replies) => {
      meter.completed += (replies as unknown[]).length;
      if (meter.open) return send();
      stop();
      resolve(meter.perSecond());
    });
    send();
  });
}

async function rtt(socket: net.Socket, codec: Codec, count: number) {
  const flight = new SingleFlight();
  const stop = listen(socket, codec, () => flight.settle());
  let nextId = 0;
  const send = (): void => void socket.write(codec.encodeFrame(callEnvelope(nextId++)));
  try {
    return await roundTrips(() => flight.call(send), count);
  } finally {
    stop();
  }
}

function tcpScenario(meta: Omit<ScenarioMeta, 'group'>, records: boolean, kind: 'pipelined' | 'batch' | 'rtt'): Scenario {
  const codec = createCodec(records);
  return withFixture<Child>(
    { group: GROUP, ...meta },
    {
      open: () => startChild(SCRIPT, records ? ['records'] : []),
      measure: ({ socket }, o) => {
        if (kind === 'pipelined') return pingPong(socket, codec, pipelineMs(o));
        if (kind === 'batch') return batches(socket, codec, pipelineMs(o));
        return rtt(socket, codec, roundTripCount(o));
      },
      close: stopChild,
    },
  );
}

const tput = { unit: 'calls/s', higherIsBetter: true } as const;
const lat = { unit: 'µs', higherIsBetter: false } as const;

export const tcpRawScenarios: Scenario[] = [
  tcpScenario({ name: 'tcp/pingpong/pipelined', ...tput, baseline: 'port/pingpong/pipelined' }, false, 'pipelined'),
  tcpScenario({ name: 'tcp/pingpong/rtt', ...lat, baseline: 'port/pingpong/rtt' }, false, 'rtt'),
  tcpScenario({ name: 'tcp/batch-msgpackr/pipelined', ...tput, baseline: 'tcp/pingpong/pipelined' }, false, 'batch'),
  tcpScenario({ name: 'tcp/batch-records/pipelined', ...tput, baseline: 'tcp/pingpong/pipelined' }, true, 'batch'),
];
