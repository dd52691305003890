// The primary applies writes and streams them to every replica with one-way `notify`. On convoy's
// ordered channels each replica sees the primary's history in order, so a replica is always a prefix of
// the primary. The `pooled` mode routes each write through the unordered pool (as a pooled RPC would)
// and forwards it when the pool answers: completions come back in any order, and replicas diverge.
import { defineWorker, notify } from '../../src/index.js';
import type Replica from './replica.js';
import type { Write } from './replica.js';
import type { WorkerApi } from '../../src/index.js';
import type * as Tasks from './pool-tasks.js';

type ReplicaApi = WorkerApi<typeof Replica>;

export default defineWorker((ctx) => {
  const replicas = ctx.peers.filter((name) => name.startsWith('replica'));
  const history: Write[] = [];
  const send = (write: Write): Promise<void>[] => replicas.map((name) => notify(ctx.peer<ReplicaApi>(name)).apply(write));
  return {
    async write(key: string, value: number, mode: 'ordered' | 'pooled') {
      const write: Write = { seq: history.length, key, value };
      history.push(write);
      if (mode === 'ordered') {
        await Promise.all(send(write));
      } else {
        // The pool is unordered by design: the write comes back whenever its thread finishes.
        void ctx
          .pool<typeof Tasks>()
          .validate(write)
          .then((checked) => send(checked));
      }
      return write.seq;
    },
    length() {
      return history.length;
    },
  };
});
