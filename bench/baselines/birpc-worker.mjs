// Callee for the birpc baseline: createBirpc({ inc }) over the port in workerData, default options.
import { workerData } from 'node:worker_threads';
import { createBirpc } from 'birpc';

const { port } = workerData;
let n = 0;
createBirpc({ inc: (by) => (n += by) }, { post: (data) => port.postMessage(data), on: (fn) => port.on('message', fn) });
port.postMessage('ready');
