// What a worker's start-up spends importing, beside the floor's own import of msgpackr: CPU time of each
// import in a fresh thread and a fresh process, in that order, each module after the ones before it (so
// one that the runtime already pulled in costs ~0), rounds alternating thread and process; medians.
//
//   node bench/startup-imports.mjs [rounds] [module ...]
//
// The default modules are what a convoy worker loads beyond the floor: the compiled runtime
// (dist/bundle/core.js, `npm run build` first) and node:crypto (a process worker's handshake HMAC).
// node:net, which a process dials with, costs nothing here: Node has loaded it already.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';

const [rounds = '9', ...given] = process.argv.slice(2);
if (!(Number(rounds) > 0)) {
  console.error('usage: node bench/startup-imports.mjs [rounds] [module ...]');
  process.exit(2);
}
const modules = given.length > 0 ? given : [new URL('../dist/bundle/core.js', import.meta.url).href, 'node:crypto'];
const PROBE = new URL('./fixtures/import-probe.mjs', import.meta.url);

async function inThread() {
  const worker = new Worker(PROBE, { workerData: modules });
  const [ms] = await once(worker, 'message');
  await worker.terminate();
  return ms;
}

async function inProcess() {
  const child = fork(PROBE, [JSON.stringify(modules)], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [ms] = await once(child, 'message');
  child.kill();
  await once(child, 'exit');
  return ms;
}

const runs = { thread: [], process: [] };
for (let round = 0; round < Number(rounds); round++) {
  runs.thread.push(await inThread());
  runs.process.push(await inProcess());
}
const median = (values) => values.sort((a, b) => a - b)[values.length >> 1];
const name = (spec) => spec.replace(/^file:\/\/.*\/(dist\/)/, '$1');
console.log(`CPU ms per import, median of ${rounds} fresh workers each (msgpackr first, as the floor's worker does)`);
console.log(`${'module'.padEnd(28)}${'thread'.padStart(10)}${'process'.padStart(10)}`);
for (const spec of ['msgpackr', ...modules]) {
  const cell = (kind) =>
    median(runs[kind].map((ms) => ms[spec]))
      .toFixed(2)
      .padStart(10);
  console.log(`${name(spec).padEnd(28)}${cell('thread')}${cell('process')}`);
}
