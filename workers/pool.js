// Entry of convoy's piscina pool threads: each named export of the user's pool module is a task,
// called with the arguments the caller passed. tsx is registered when the module is TypeScript.
import { move, transferableSymbol, valueSymbol, workerData } from 'piscina';

const { module, tsx, support } = workerData;
if (tsx) {
  const { register } = await import('tsx/esm/api');
  register();
}
const {
  MAX_NESTING_DEPTH,
  MethodNotFoundError,
  POOL_LOADED,
  SerializationError,
  THE_POOL,
  cloneProblem,
  errorToWire,
  ownErrorToWire,
  plainWireError,
  stripForHandOff,
} = await import(support);
// A module that fails to load does not fail the thread: piscina would take that for a broken pool and
// stop starting threads, leaving tasks queued for ever. Every task fails with it instead, the first of
// them the coordinator's check at startCluster (POOL_LOADED), which then fails the start.
let tasks;
let loadFailure;
try {
  tasks = await import(module);
} catch (error) {
  loadFailure = error;
}

// An uncaught error ends this thread, and Node hands it to the coordinator by cloning it: one nested too
// deep would overflow the coordinator's stack there (src/protocol/nesting.ts). Stripped as the thread exits.
process.on('uncaughtExceptionMonitor', (error) => {
  if (process.listenerCount('uncaughtException') === 0) process.once('exit', () => stripForHandOff(error));
});

/**
 * Why a value cannot be cloned to the coordinator, or undefined: decoding recurses (src/protocol/nesting.ts),
 * and a clone that piscina fails after the task ends this thread with an error the coordinator cannot rebuild.
 */
const problem = (value) => cloneProblem(value, MAX_NESTING_DEPTH);

/** What a task throws for an error that is not convoy's verdict: its wire form, plain if it cannot be cloned. */
function taskFailure(error) {
  const wire = errorToWire(error);
  return { convoyError: problem(wire) ? plainWireError(wire) : wire };
}

/**
 * piscina calls the default export with each task: `{ method, args }`. Only own named exports are tasks.
 * A failure is thrown in convoy's wire form, so the caller gets the same RemoteError (with `data`,
 * `cause`) or MethodNotFoundError as from any worker.
 */
export default async function runTask({ method, args }) {
  if (loadFailure !== undefined) throw taskFailure(new Error(`The pool module ${module} failed to load`, { cause: loadFailure }));
  if (method === POOL_LOADED) return true;
  const fn = Object.hasOwn(tasks, method) ? tasks[method] : undefined;
  // convoy's verdict on this call keeps its class; whatever the task throws arrives as a RemoteError.
  if (typeof fn !== 'function') throw { convoyError: ownErrorToWire(new MethodNotFoundError(method, THE_POOL)) };
  let result;
  try {
    result = await fn(...args);
  } catch (error) {
    throw taskFailure(error);
  }
  const refused = problem(result);
  if (refused) {
    throw {
      convoyError: ownErrorToWire(new SerializationError(`The result of \`${method}\` cannot be sent: ${refused}`)),
    };
  }
  // A result marked with convoy's transfer() moves its buffers back, as piscina's move() does. The
  // marks live in a global registry (see src/protocol/transfer.ts), so no convoy module is needed here.
  const list = typeof result === 'object' && result !== null ? globalThis[Symbol.for('convoy.transfer')]?.marks.get(result) : undefined;
  if (!list) return result;
  return move({ [transferableSymbol]: list, [valueSymbol]: result });
}
