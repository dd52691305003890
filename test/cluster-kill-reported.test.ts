/**
 * `await cluster.kill(name)` resolves once the death is reported: its `worker-exit` has been emitted and
 * the worker reads `dead` at once. It used to resolve when the child had exited, a little before the
 * report (which waits for the control channel's last frames), and a close() right after it dropped the
 * death: no worker-exit, no dead worker on a held dashboard (1 run in 3 here).
 */
import test from 'ava';
import type { WorkerExitEvent } from '../src/index.js';
import { fixture, startFor } from './helpers/cluster.js';

const ROUNDS = 6;

test(`kill() then close() at once: the kill's worker-exit is always emitted first (${ROUNDS} rounds, a thread and a process)`, async (t) => {
  for (let round = 0; round < ROUNDS; round++) {
    const cluster = await startFor(t, {
      workers: [
        { name: 't', module: fixture('counter.ts'), kind: 'thread' },
        { name: 'p', module: fixture('counter.ts'), kind: 'process' },
      ],
    });
    const exits: WorkerExitEvent[] = [];
    cluster.on('worker-exit', (event) => exits.push(event));
    const name = round % 2 ? 't' : 'p';
    await cluster.kill(name);
    t.like(exits[0], { name, reason: 'killed', restarting: false }, `round ${round}: ${name}'s worker-exit came before kill() resolved`);
    t.is((await cluster.stats()).workers.find((worker) => worker.name === name)?.state, 'dead');
    await cluster.close();
    t.is(exits.length, 1);
  }
});
