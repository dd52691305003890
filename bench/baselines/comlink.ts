// comlink 4.4.2: wrap/expose over a MessagePort to a worker thread, calling `inc(1)`.

import { releaseProxy, wrap, type Endpoint } from 'comlink';
import { callScenarios } from '../call-scenarios.js';
import { startThread, stopThread } from './spawn.js';

interface Api {
  inc(by: number): number;
}

export const comlinkScenarios = callScenarios({
  prefix: 'comlink',
  group: 'RPC libraries, one worker thread',
  baselines: { pipelined: 'port/pingpong/pipelined', rtt: 'port/pingpong/rtt' },
  async open() {
    const thread = await startThread(new URL('./comlink-worker.mjs', import.meta.url));
    // A Node MessagePort is an EventTarget with start(): what comlink's Endpoint needs, no adapter.
    const remote = wrap<Api>(thread.port as unknown as Endpoint);
    return {
      call: () => remote.inc(1),
      async close() {
        remote[releaseProxy]();
        await stopThread(thread);
      },
    };
  },
});
