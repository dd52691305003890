// The primary applies writes and streams them to every replica with one-way `notify`. On convoy's
// ordered channels each replica applies the primary's history in order, so a replica is always a prefix
// of the primary. The `pooled` mode routes each write through the unordered pool (as a pooled RPC would)
// and forwards it when the pool answers: completions come back in any order, and replicas diverge.
import { defineWorker, notify } from '../../src/index.js';
import { History } from './history.js';
import type Replica from './replica.js';
import type { Write } from './replica.js';
import type { WorkerApi } from '../../src/index.js';
import type * as Tasks from './pool-tasks.js';

type ReplicaApi = WorkerApi<typeof Replica>;

export default defineWorker((ctx) => {
  const replicas = ctx.peers.filter((name) => name.startsWith('replica'));
  const history = new History();
  let inPool = 0;
  let lost = 0;
  let firstLoss: string | undefined;
  const send = (write: Write): Promise<void>[] => replicas.map((name) => notify(ctx.peer<ReplicaApi>(name)).apply(write));
  // The pool is unordered by design: the write comes back whenever its thread finishes. A task that fails
  // loses the write for every replica: counted, and the first reason kept, for the report.
  const viaPool = (write: Write): void => {
    inPool++;
    void ctx
      .pool<typeof Tasks>()
      .validate(write)
      .then(send)
      .catch((error: unknown) => {
        lost++;
        firstLoss ??= error instanceof Error ? error.message : String(error);
      })
      .finally(() => inPool--);
  };
  return {
    async write(key: string, value: number, mode: 'ordered' | 'pooled') {
      const write: Write = { seq: history.length, key, value };
      history.add(write);
      if (mode === 'ordered') await Promise.all(send(write));
      else viaPool(write);
      return write.seq;
    },
    /** The history so far, with the writes still in the pool and those the pool lost. */
    state() {
      return { ...history.state(), inPool, lost, firstLoss };
    },
  };
});
