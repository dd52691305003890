// What convoy's piscina pool threads (workers/pool.js) take from convoy, and nothing more: a pool thread
// loads no other part of it. The bundle's core.js exports the same names (src/cluster/paths.ts).
export {
  MethodNotFoundError,
  SerializationError,
  THE_POOL,
  errorToWire,
  ownErrorToWire,
  plainWireError,
  stripForHandOff,
} from '../errors.js';
export { MAX_NESTING_DEPTH, cloneProblem } from '../protocol/nesting.js';
export { POOL_LOADED } from '../protocol/control.js';
