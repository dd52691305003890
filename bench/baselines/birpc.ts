// birpc 4.2: createBirpc over a MessagePort to a worker thread, default options (per-call timeout timer
// and generated ids included, as users get them), calling `inc(1)`.

import { createBirpc } from 'birpc';
import { callScenarios } from '../call-scenarios.js';
import { startThread, stopThread } from './spawn.js';

interface Api {
  inc(by: number): number;
}

export const birpcScenarios = callScenarios({
  prefix: 'birpc',
  group: 'RPC libraries, one worker thread',
  baselines: { pipelined: 'port/pingpong/pipelined', rtt: 'port/pingpong/rtt' },
  async open() {
    const thread = await startThread(new URL('./birpc-worker.mjs', import.meta.url));
    const { port } = thread;
    const remote = createBirpc<Api>(
      {},
      {
        post: (data) => port.postMessage(data),
        on: (fn) => void port.on('message', fn),
        off: (fn) => void port.off('message', fn),
      },
    );
    return {
      call: () => remote.inc(1),
      async close() {
        remote.$close();
        await stopThread(thread);
      },
    };
  },
});
