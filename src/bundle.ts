// The entries of the bundle the compiled package runs from (built by scripts/bundle.mjs into
// dist/bundle/; src/bundle-worker.ts is the other): `convoy` — the public API and the internals. Its
// modules are shared with the worker entry, so one copy of convoy serves a thread or process whichever
// entry its code imports. The package's types stay those of index.ts and internals.ts; the internals'
// names here are for dist/bundle/internals.js.
export * from './index.js';
export * from './internals.js';
// The raw TCP transport, for the benchmark's layer rungs (bench/layers.mjs): not a public name.
export { TcpTransport } from './transport/tcp.js';
