// Entry script of every convoy worker thread. Plain JavaScript so it runs from source and from dist/
// alike. On Node 20, `node --import tsx` does not reach worker threads, so tsx is registered here when
// the runtime or the user's module is TypeScript.
import { workerData } from 'node:worker_threads';

const { runtime, tsx } = workerData.convoyEntry;
if (tsx) {
  const { register } = await import('tsx/esm/api');
  register();
}
const { runThread } = await import(runtime);
await runThread();
