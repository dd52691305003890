// Callee for the large-payload baseline (port-payload.ts): answers every `{ payload }` (a large ArrayBuffer,
// cloned or transferred) on the port in workerData with its byteLength.
import { workerData } from 'node:worker_threads';

const { port } = workerData;
port.on('message', (msg) => port.postMessage(msg.payload.byteLength));
port.postMessage('ready');
