// The bundle's worker entry (dist/bundle/worker.js, see src/bundle.ts): `convoy/worker` and the runtimes
// of worker threads and processes, so a worker loads one module (and a few chunks) for its runtime and
// its module's `import 'convoy/worker'` alike, instead of the ~100 files tsc emits, which cost every
// thread and process tens of milliseconds of CPU. `runThread`, `runProcess` and the remote ones are for
// workers/thread.js, workers/process.js and dist/bundle/nats-main.js only.
export * from './worker-api.js';
export { runThread } from './worker/thread-main.js';
export { runProcess } from './worker/process-main.js';
// A worker an agent starts (its control channel over NATS).
export { runThread as runRemoteThread, runProcess as runRemoteProcess } from './worker/nats-main.js';
