// The first layer of the bundle (see scripts/bundle.mjs): the worker runtimes and `convoy/worker`. A
// worker thread or process runs dist/bundle/core.js, built from what this imports, and its module's
// `import 'convoy/worker'` (or 'convoy') reaches the same modules there: one copy of convoy per worker.
export * from './worker-api.js';
export { runThread } from './worker/thread-main.js';
export { runProcess } from './worker/process-main.js';
