// Entry of convoy's piscina pool threads: each named export of the user's pool module is a task,
// called with the arguments the caller passed. tsx is registered when the module is TypeScript.
import { workerData } from 'piscina';

const { module, tsx } = workerData;
if (tsx) {
  const { register } = await import('tsx/esm/api');
  register();
}
const tasks = await import(module);

/** piscina calls the default export with each task: `{ method, args }`. Only own named exports are tasks. */
export default function runTask({ method, args }) {
  const fn = Object.prototype.hasOwnProperty.call(tasks, method) ? tasks[method] : undefined;
  if (typeof fn !== 'function') {
    const error = new Error(`No task \`${method}\` in the pool module`);
    error.code = 'ERR_CONVOY_NO_METHOD';
    throw error;
  }
  return fn(...args);
}
