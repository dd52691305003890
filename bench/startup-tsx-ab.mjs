// What tsx costs a worker thread at start, interleaved: a thread that registers tsx and loads convoy's
// thread runtime from src/, against one that loads the runtime compiled by `npm run build:test`
// (.test-build/), alternating in one process, order swapped every pair. Prints the medians and the
// median of per-pair ratios (wall time to the thread's exit, and CPU of the whole process meanwhile).
// Why the tests run compiled (README, Development).
//
//   npm run build:test && node bench/startup-tsx-ab.mjs [pairs=10]
import { mkdirSync, writeFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

const pairs = Number(process.argv[2] ?? 10);
const root = new URL('../', import.meta.url);
// Inside the repository (scratch/ is git-ignored), so that the thread resolves tsx from its node_modules.
const dir = new URL('scratch/startup-tsx-ab/', root);
mkdirSync(dir, { recursive: true });
const entries = {
  tsx: `const { register } = await import('tsx/esm/api');\nregister();\nawait import(${JSON.stringify(new URL('src/worker/thread-main.ts', root).href)});\n`,
  compiled: `await import(${JSON.stringify(new URL('.test-build/src/worker/thread-main.js', root).href)});\n`,
};
for (const [name, code] of Object.entries(entries)) writeFileSync(new URL(`${name}.mjs`, dir), code);

/** One thread of `arm`, from its start to its exit (it has nothing to run without a coordinator). */
async function once(arm) {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const worker = new Worker(new URL(`${arm}.mjs`, dir));
  await new Promise((resolve, reject) => {
    worker.once('exit', resolve);
    worker.once('error', reject);
  });
  const used = process.cpuUsage(cpu);
  return { ms: performance.now() - started, cpuMs: (used.user + used.system) / 1000 };
}

const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
const rows = [];
for (let i = 0; i < pairs; i++) {
  const row = {};
  for (const arm of i % 2 ? ['compiled', 'tsx'] : ['tsx', 'compiled']) row[arm] = await once(arm);
  rows.push(row);
}
for (const arm of ['tsx', 'compiled']) {
  console.log(
    `${arm.padEnd(8)} ${median(rows.map((r) => r[arm].ms)).toFixed(0)} ms, ${median(rows.map((r) => r[arm].cpuMs)).toFixed(0)} ms CPU`,
  );
}
for (const key of ['ms', 'cpuMs']) {
  const ratios = rows.map((r) => r.tsx[key] / r.compiled[key]);
  console.log(
    `tsx / compiled, ${key === 'ms' ? 'time' : 'CPU '}: ${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}, ${pairs} pairs)`,
  );
}
