/**
 * Threads still running when their process exits are all told to stop at its `exit` event.
 *
 * Node stops them itself at exit, but one at a time: it terminates a thread and waits for its teardown
 * before it tells the next. The threads not yet told keep running — serving calls, spinning — on the same
 * cores as the teardown, so each teardown takes longer the more threads are busy: a coordinator that
 * crashed or called `process.exit()` with 48 spinning threads took 11 s to end, one with 64 threads under
 * load over two minutes, all the while its threads ran handlers. Terminated together, they stop at once
 * and tear down side by side.
 */
import type { Worker } from 'node:worker_threads';

const running = new Set<Worker>();

/**
 * Makes sure `worker` is terminated as soon as this process (or thread) starts to exit. The `exit`
 * listener is there only while some thread runs: a closed cluster leaves no listener behind.
 */
export function stopAtExit(worker: Worker): void {
  if (running.size === 0) process.once('exit', stopAll);
  running.add(worker);
  worker.once('exit', () => {
    if (running.delete(worker) && running.size === 0) process.removeListener('exit', stopAll);
  });
}

function stopAll(): void {
  // terminate() stops a thread's JavaScript at once; its promise would settle on a turn that never comes.
  for (const worker of running) void worker.terminate();
  running.clear();
}
