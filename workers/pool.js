// Entry of convoy's piscina pool threads: each named export of the user's pool module is a task,
// called with the arguments the caller passed. tsx is registered when the module is TypeScript.
import { move, transferableSymbol, valueSymbol, workerData } from 'piscina';

const { module, tsx, errors } = workerData;
if (tsx) {
  const { register } = await import('tsx/esm/api');
  register();
}
const { MethodNotFoundError, errorToWire, ownErrorToWire } = await import(errors);
const tasks = await import(module);

/**
 * piscina calls the default export with each task: `{ method, args }`. Only own named exports are tasks.
 * A failure is thrown in convoy's wire form, so the caller gets the same RemoteError (with `data`,
 * `cause`) or MethodNotFoundError as from any worker.
 */
export default async function runTask({ method, args }) {
  const fn = Object.hasOwn(tasks, method) ? tasks[method] : undefined;
  // convoy's verdict on this call keeps its class; whatever the task throws arrives as a RemoteError.
  if (typeof fn !== 'function') throw { convoyError: ownErrorToWire(new MethodNotFoundError(method, 'the pool')) };
  let result;
  try {
    result = await fn(...args);
  } catch (error) {
    throw { convoyError: errorToWire(error) };
  }
  // A result marked with convoy's transfer() moves its buffers back, as piscina's move() does. The
  // marks live in a global registry (see src/protocol/transfer.ts), so no convoy module is needed here.
  const list = typeof result === 'object' && result !== null ? globalThis[Symbol.for('convoy.transfer')]?.marks.get(result) : undefined;
  if (!list) return result;
  return move({ [transferableSymbol]: list, [valueSymbol]: result });
}
