// The module the compiled package runs from (dist/bundle/convoy.js, built by scripts/bundle.mjs): the
// public API, the internals, and the runtimes of worker threads and processes. A worker then loads one
// module for its runtime and for its own `import 'convoy'` alike — one copy of convoy per thread, as
// `notify()`, `currentCall()` and `instanceof` need — instead of the ~100 files tsc emits, which cost
// every thread and process tens of milliseconds of CPU. The package's types stay those of index.ts and
// internals.ts; the other names here are for the entries in workers/ and for dist/bundle/internals.js.
export * from './index.js';
export * from './internals.js';
export { runThread } from './worker/thread-main.js';
export { runProcess } from './worker/process-main.js';
// A worker an agent starts (its control channel over NATS); dist/bundle/nats-main.js re-exports them.
export { runThread as runRemoteThread, runProcess as runRemoteProcess } from './worker/nats-main.js';
