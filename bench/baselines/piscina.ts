// piscina 5.3: `run()` of a trivial task on a pool of one thread (the other baselines use one worker too),
// other options left at their defaults.

import { Piscina } from 'piscina';
import { callScenarios } from '../call-scenarios.js';

export const piscinaScenarios = callScenarios({
  prefix: 'piscina',
  group: 'RPC libraries, one worker thread',
  async open() {
    const pool = new Piscina({
      filename: new URL('./piscina-task.mjs', import.meta.url).href,
      minThreads: 1,
      maxThreads: 1,
    });
    await pool.run(0); // the thread is up and the task module loaded before the warm-up
    return {
      call: () => pool.run(1),
      close: () => pool.destroy(),
    };
  },
});
