// Callee for the raw MessagePort baselines: answers every call envelope it gets on the port in workerData.
// A plain object is one call; an array is a batch (structured clone); an ArrayBuffer is msgpackr bytes
// holding one call or a batch, answered the same way with a transferred buffer. `{ payload }` (a large
// ArrayBuffer, cloned or transferred) is answered with its byteLength.
import { workerData } from 'node:worker_threads';
import { createCodec, createCounter } from './wire.mjs';

const { port, records } = workerData;
const answer = createCounter();
const codec = createCodec(Boolean(records));

port.on('message', (msg) => {
  if (msg instanceof ArrayBuffer) {
    const calls = codec.decode(new Uint8Array(msg));
    const out = codec.encode(Array.isArray(calls) ? calls.map(answer) : answer(calls));
    port.postMessage(out.buffer, [out.buffer]);
  } else if (msg !== null && typeof msg === 'object' && msg.payload instanceof ArrayBuffer) {
    port.postMessage(msg.payload.byteLength);
  } else if (Array.isArray(msg)) {
    port.postMessage(msg.map(answer));
  } else {
    port.postMessage(answer(msg));
  }
});
port.postMessage('ready');
