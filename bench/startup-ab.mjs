// Start-up CPU of convoy builds against each other and the floor, interleaved: one window of each arm
// per round, in rotating order, each a fresh probe process (fixtures/start-probe.mjs); then medians of
// CPU per worker (the coordinator's main thread, and the workers) and each build's per-round difference
// to the floor and to the first build. CPU, not wall time: on a shared machine it is far less noisy.
//
//   node bench/startup-ab.mjs <threads|processes|mixed> <n> <rounds> <name>=<root> [<name>=<root> ...]
//
// A root is a package layout holding dist/bundle/ and workers/ (`.` for this checkout), inside this
// repository so that its imports resolve to this node_modules: e.g. a base to compare with,
//   git stash; npm run build; mkdir -p scratch/base/dist && cp -r dist/bundle scratch/base/dist/ && cp -r workers package.json scratch/base/; git stash pop; npm run build
//   node bench/startup-ab.mjs threads 16 12 base=scratch/base now=.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [shape, n, rounds, ...builds] = process.argv.slice(2);
if (!['threads', 'processes', 'mixed'].includes(shape) || !(Number(n) > 0) || !(Number(rounds) > 0) || builds.length === 0) {
  console.error('usage: node bench/startup-ab.mjs <threads|processes|mixed> <n> <rounds> <name>=<root> ...');
  process.exit(2);
}
const PROBE = new URL('./fixtures/start-probe.mjs', import.meta.url);
const METRICS = ['cpuMainMsPerWorker', 'cpuWorkersMsPerWorker', 'start'];

const arms = [
  { name: 'floor', args: ['floor', shape, n], env: {} },
  ...builds.map((build) => {
    const [name, root] = build.split('=');
    const at = (file) => pathToFileURL(path.resolve(root, file)).href;
    return {
      name,
      args: ['convoy', shape, n],
      env: { CONVOY_BENCH_INDEX: at('dist/bundle/convoy.js'), CONVOY_BENCH_WORKER_INDEX: at('dist/bundle/worker.js') },
    };
  }),
];

/** One window: a fresh probe process, with the build's entries in its environment. */
async function window(arm) {
  const child = fork(PROBE, arm.args, {
    execArgv: [],
    env: { ...process.env, ...arm.env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let result;
  child.once('message', (m) => (result = m));
  await once(child, 'exit');
  if (!result?.value) throw new Error(`${arm.name}: ${result?.error ?? 'the probe gave no result'}`);
  return result.value;
}

const windows = Object.fromEntries(arms.map((arm) => [arm.name, []]));
for (let round = 0; round < Number(rounds); round++) {
  for (let i = 0; i < arms.length; i++) {
    const arm = arms[(i + round) % arms.length];
    windows[arm.name].push(await window(arm));
  }
  process.stderr.write(`round ${round + 1} of ${rounds}\n`);
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
const fixed = (v) => v.toFixed(1).padStart(8);
/** Median over rounds of `a`'s figure minus `b`'s in the same round. */
const difference = (a, b, metric) => median(windows[a].map((w, i) => w[metric] - windows[b][i][metric]));

console.log(`${shape} ${n}, ${rounds} rounds: medians (ms per worker; start in ms)`);
console.log(`${''.padEnd(12)}${METRICS.map((m) => m.padStart(24)).join('')}`);
for (const { name } of arms)
  console.log(`${name.padEnd(12)}${METRICS.map((m) => fixed(median(windows[name].map((w) => w[m]))).padStart(24)).join('')}`);
console.log('median of per-round differences (ms per worker): main thread, workers');
for (const { name } of arms.slice(1)) {
  const against = [['floor', 'the floor'], ...(name === arms[1].name ? [] : [[arms[1].name, arms[1].name]])];
  for (const [other, label] of against) {
    console.log(`${name} - ${label}:`.padEnd(28), fixed(difference(name, other, METRICS[0])), fixed(difference(name, other, METRICS[1])));
  }
}
