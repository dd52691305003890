// Callee for the comlink baseline: expose({ inc }) on the port in workerData.
import { workerData } from 'node:worker_threads';
import { expose } from 'comlink';

const { port } = workerData;
let n = 0;
port.postMessage('ready');
expose({ inc: (by) => (n += by) }, port);
