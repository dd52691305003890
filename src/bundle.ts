// The second layer of the bundle (see scripts/bundle.mjs): `convoy` — the public API and the internals,
// which the compiled package runs from (dist/bundle/convoy.js). What it shares with the worker runtimes
// comes from the first layer's file, so one copy of convoy serves a thread or process whichever entry
// its code imports. The package's types stay those of index.ts and internals.ts; the internals' names
// here are for dist/bundle/internals.js.
export * from './index.js';
export * from './internals.js';
// The raw TCP transport, for the benchmark's layer rungs (bench/layers.mjs): not a public name.
export { TcpTransport } from './transport/tcp.js';
