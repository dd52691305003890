// The floor for one large argument to a thread: a raw postMessage of an ArrayBuffer, cloned (copied) or
// transferred, answered with its byteLength. Compare convoy/payload/* (scenarios/payload.ts).

import type { MessagePort } from 'node:worker_threads';
import { withFixture, type Scenario } from '../harness.js';
import { PAYLOAD_SIZES, msPerPayload, payloadCalls } from '../payload.js';
import { startThread, stopThread, type Thread } from './spawn.js';

const SCRIPT = new URL('./port-echo-worker.mjs', import.meta.url);
const GROUP = 'thread transport (raw MessagePort): one large ArrayBuffer per call';

function post(port: MessagePort, buffer: Uint8Array, transfer: boolean): Promise<number> {
  return new Promise((resolve) => {
    port.once('message', resolve);
    const payload = buffer.buffer as ArrayBuffer;
    port.postMessage({ payload }, transfer ? [payload] : []);
  });
}

function payloadScenario(label: string, bytes: number, transfer: boolean): Scenario {
  return withFixture<Thread>(
    { name: `port/payload-${transfer ? 'transfer' : 'clone'}-${label}`, group: GROUP, unit: 'ms', higherIsBetter: false },
    {
      open: () => startThread(SCRIPT),
      measure: (t, o) => msPerPayload(bytes, payloadCalls(o, bytes), (buffer) => post(t.port, buffer, transfer)),
      close: stopThread,
    },
  );
}

export const portPayloadScenarios: Scenario[] = PAYLOAD_SIZES.flatMap(({ label, bytes }) => [
  payloadScenario(label, bytes, false),
  payloadScenario(label, bytes, true),
]);
