/**
 * Soak: millions of calls across a mixed mesh (threads and processes, workers relaying to peers, one
 * hop or several) while workers are killed at random and restarted. Prints heap and RSS every second;
 * at the end checks that nothing leaked: no pending call, queued byte or waiting message on any channel,
 * no timer or stale socket or port in any worker, the coordinator's resources as at the start, and after
 * close() as before the cluster. Exits 1 if any check fails or any call failed for a reason other than
 * a worker's death.
 *
 *   node --import tsx scripts/soak.ts [--calls 10000000] [--threads 3] [--processes 3]
 *        [--concurrency 2000] [--kill-every-ms 2000] [--no-kills] [--one-restart-at-a-time] [--seed 1]
 *
 * See scripts/README.md.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parseArgs } from 'node:util';
import { RemoteError, WorkerDiedError, notify, startCluster, type Cluster, type Remote } from '../src/index.js';
import { statsAtRest } from '../test/helpers/cluster.js';
import { openResources } from '../test/helpers/leaks.js';
import type { SoakWorker } from './soak-worker.js';

const { values: argv } = parseArgs({
  options: {
    calls: { type: 'string', default: '10000000' },
    threads: { type: 'string', default: '3' },
    processes: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '2000' },
    'kill-every-ms': { type: 'string', default: '2000' },
    'no-kills': { type: 'boolean', default: false },
    'one-restart-at-a-time': { type: 'boolean', default: false },
    seed: { type: 'string', default: '1' },
    'hang-ms': { type: 'string', default: '15000' },
    'heap-growth-mb': { type: 'string', default: '32' },
    help: { type: 'boolean', default: false },
  },
});
if (argv.help) {
  console.log('usage: node --import tsx scripts/soak.ts [--calls N] [--threads N] [--processes N] [--concurrency N]');
  console.log('       [--kill-every-ms MS] [--no-kills] [--one-restart-at-a-time] [--seed N] [--hang-ms MS] [--heap-growth-mb MB]');
  process.exit(0);
}
function count(name: string, min: number): number {
  const raw = argv[name as keyof typeof argv] as string;
  const n = Number(raw.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < min) {
    console.error(`Expected --${name} to be an integer >= ${min}, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return n;
}
const TOTAL = count('calls', 1);
const THREADS = count('threads', 0);
const PROCESSES = count('processes', 0);
const CONCURRENCY = count('concurrency', 1);
const KILL_EVERY_MS = count('kill-every-ms', 1);
const HANG_MS = count('hang-ms', 1000);
const HEAP_GROWTH = count('heap-growth-mb', 0) * 2 ** 20;
const KILLS = !argv['no-kills'];
if (THREADS + PROCESSES < 2) {
  console.error('Expected at least two workers (--threads + --processes >= 2)');
  process.exit(2);
}

// --- helpers -------------------------------------------------------------------------------------

/** xorshift32: the run is reproducible for a seed (up to scheduling). */
let state = count('seed', 0) >>> 0 || 0x9e3779b9;
function random(): number {
  state ^= state << 13;
  state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state / 0x1_0000_0000;
}
const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const MB = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MB`;

const same = (a: object, b: object): boolean => JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

/** A death seen by the caller: directly, or behind one or more relaying workers. */
function isDeath(error: unknown): boolean {
  if (error instanceof WorkerDiedError) return true;
  let data: Record<string, unknown> | undefined = error instanceof RemoteError ? error.data : undefined;
  while (data) {
    if (data.code === 'ERR_CONVOY_WORKER_DIED') return true;
    data = data.data as Record<string, unknown> | undefined;
  }
  return false;
}

const failures: string[] = [];
function fail(what: string): void {
  failures.push(what);
  console.error(`FAIL: ${what}`);
}

// --- the cluster ---------------------------------------------------------------------------------

const module = new URL('./soak-worker.ts', import.meta.url);
const names = [...Array.from({ length: THREADS }, (_, i) => `t-${i}`), ...Array.from({ length: PROCESSES }, (_, i) => `p-${i}`)];

// Baselines: warm up (module loading) with a throwaway cluster first.
await (await startCluster({ workers: [{ name: 'w', module, kind: PROCESSES > 0 ? 'process' : 'thread' }] })).close();
await settleHandles();
gc();
const before = { resources: openResources(), memory: process.memoryUsage(), listeners: process.eventNames().length };

const startedAt = performance.now();
const cluster: Cluster = await startCluster({
  restartDelayMs: 50,
  maxRestarts: 1_000_000,
  workers: [
    ...(THREADS > 0 ? [{ name: 't', module, kind: 'thread' as const, count: THREADS, restart: 'on-failure' as const }] : []),
    ...(PROCESSES > 0 ? [{ name: 'p', module, kind: 'process' as const, count: PROCESSES, restart: 'on-failure' as const }] : []),
  ],
});
console.log(`started ${names.join(', ')} in ${(performance.now() - startedAt).toFixed(0)} ms`);
const remotes = new Map(names.map((name) => [name, cluster.worker<SoakWorker>(name)]));
const at = (name: string): Remote<SoakWorker> => remotes.get(name)!;

const ready = new Set(names);
let kills = 0;
let restarts = 0;
cluster.on('worker-exit', (event) => {
  ready.delete(event.name);
  if (!event.restarting) fail(`${event.name} exited for good (${event.reason})`);
});
cluster.on('worker-restart', (event) => {
  ready.add(event.name);
  restarts++;
});

/**
 * Opens every pair's channel (each worker calls each peer once): channels open on first use, and the
 * resources compared at the end are those of the whole mesh, which a restarted worker has only once its
 * pairs are used again.
 */
async function openEveryPair(): Promise<void> {
  await Promise.all(names.flatMap((from) => names.filter((to) => to !== from).map((to) => at(from).relay(to, 0))));
}

await openEveryPair();
const atStart = {
  coordinator: openResources(),
  workers: new Map(await Promise.all(names.map(async (name) => [name, openResources(await at(name).activeResources())] as const))),
};

// --- traffic -------------------------------------------------------------------------------------

const seqs = new Map(names.map((name) => [name, 0]));
const outstanding = new Map<number, { started: number; what: string }>();
let issued = 0;
let ok = 0;
let died = 0;
let unexpected = 0;
let wrong = 0;
let nextId = 0;

function track(what: string, promise: Promise<unknown>, check: (value: unknown) => boolean): Promise<void> {
  const id = nextId++;
  outstanding.set(id, { started: performance.now(), what });
  return promise.then(
    (value) => {
      outstanding.delete(id);
      if (check(value)) ok++;
      else if (++wrong <= 5) fail(`${what} returned ${JSON.stringify(value)}`);
    },
    (error: unknown) => {
      outstanding.delete(id);
      if (isDeath(error)) died++;
      else if (++unexpected <= 5) fail(`${what} failed: ${String(error)}`);
    },
  );
}

/** One random operation: a call, a notify, a relay to a peer, or a multi-hop relay. */
function issue(): Promise<void> {
  issued++;
  const name = pick(names);
  const w = at(name);
  const n = issued;
  const r = random();
  if (r < 0.4) {
    const seq = seqs.get(name)!;
    seqs.set(name, seq + 1);
    return track(`${name}.inc`, w.inc('coordinator', seq, n), (v) => v === n + 1);
  }
  if (r < 0.5) {
    const seq = seqs.get(name)!;
    seqs.set(name, seq + 1);
    return track(`notify ${name}.note`, notify(w).note('coordinator', seq), () => true);
  }
  const peer = pick(names.filter((other) => other !== name));
  if (r < 0.9) return track(`${name}.relay(${peer})`, w.relay(peer, n), (v) => v === n);
  const path = [peer, pick(names.filter((other) => other !== peer))];
  return track(`${name}.hop(${path.join(',')})`, w.hop(path, n), (v) => v === n + 2);
}

async function lane(): Promise<void> {
  while (issued < TOTAL) await issue();
}

// --- chaos -----------------------------------------------------------------------------------------

let chaosTimer: NodeJS.Timeout | undefined;
function scheduleKill(): void {
  if (!KILLS) return;
  chaosTimer = setTimeout(
    () => {
      // Any ready worker, even while others restart (test/hardening-restart.test.ts has the races this hits).
      const candidates = !argv['one-restart-at-a-time'] || ready.size === names.length ? [...ready] : [];
      if (candidates.length > 0) {
        const victim = pick(candidates);
        ready.delete(victim);
        kills++;
        cluster.kill(victim).catch((error: unknown) => fail(`kill ${victim}: ${String(error)}`));
      }
      scheduleKill();
    },
    KILL_EVERY_MS * (0.5 + random()),
  );
}

// --- progress ------------------------------------------------------------------------------------

let hung: () => void = () => {};
const hang = new Promise<'hang'>((resolve) => (hung = () => resolve('hang')));
let lastIssued = 0;
let peakHeap = 0;
let peakRss = 0;
const progress = setInterval(() => {
  const { heapUsed, rss } = process.memoryUsage();
  peakHeap = Math.max(peakHeap, heapUsed);
  peakRss = Math.max(peakRss, rss);
  const elapsed = (performance.now() - startedAt) / 1000;
  let oldest = 0;
  const now = performance.now();
  for (const { started, what } of outstanding.values()) {
    oldest = Math.max(oldest, now - started);
    if (now - started > HANG_MS) {
      fail(`${what} has been pending for ${((now - started) / 1000).toFixed(0)} s: a hang`);
      hung();
      break;
    }
  }
  console.log(
    `${elapsed.toFixed(0).padStart(5)} s  calls ${issued}/${TOTAL} (${issued - lastIssued}/s)  ok ${ok}  died ${died}  ` +
      `unexpected ${unexpected + wrong}  kills ${kills}  restarts ${restarts}  pending ${outstanding.size} (oldest ${oldest.toFixed(0)} ms)  ` +
      `heap ${MB(heapUsed)}  rss ${MB(rss)}`,
  );
  lastIssued = issued;
}, 1000);

scheduleKill();
if ((await Promise.race([Promise.all(Array.from({ length: CONCURRENCY }, lane)), hang])) === 'hang') {
  console.error('stopping the traffic: a call hung (the checks below show where)');
  issued = TOTAL;
}
clearTimeout(chaosTimer);
clearInterval(progress);
const trafficSeconds = (performance.now() - startedAt) / 1000;
console.log(
  `${TOTAL} calls issued in ${trafficSeconds.toFixed(1)} s: ok ${ok}, died ${died}, unexpected ${unexpected}, wrong results ${wrong}`,
);

// --- checks --------------------------------------------------------------------------------------

// Let the last restart finish so every worker can be asked.
const until = performance.now() + 60_000;
while (ready.size < names.length && performance.now() < until) await new Promise((resolve) => setTimeout(resolve, 100));
if (ready.size < names.length) fail(`workers not back after the run: ${names.filter((n) => !ready.has(n)).join(', ')}`);
else {
  // Bounded, and any failure is the soak's: the hang watchdog has stopped.
  const opened = await Promise.race([
    openEveryPair().then(
      () => undefined,
      (error: unknown) => `a pair could not be opened after the run: ${String(error)}`,
    ),
    new Promise<string>((resolve) =>
      setTimeout(() => resolve(`the pairs were not all opened within ${HANG_MS} ms after the run`), HANG_MS).unref(),
    ),
  ]);
  if (opened) fail(opened);
}

// The counters are gauges a heartbeat ping passes through for up to a turn: read until a moment every
// channel is at rest (a leak stays put and is reported after 5 s).
const stats = await statsAtRest(cluster, 5000);
for (const worker of stats.workers) {
  const { control } = worker;
  if (worker.state !== 'ready') fail(`${worker.name} is ${worker.state}`);
  if (!control || control.inFlight || control.queuedBytes || control.waiting) {
    fail(
      `coordinator → ${worker.name}: ${JSON.stringify({ inFlight: control?.inFlight, queuedBytes: control?.queuedBytes, waiting: control?.waiting })}`,
    );
  }
  if (worker.peers.length !== names.length - 1)
    fail(`${worker.name} has ${worker.peers.length} peer channels, expected ${names.length - 1}`);
  for (const peer of worker.peers) {
    if (peer.inFlight || peer.queuedBytes || peer.waiting) {
      fail(
        `${worker.name} → ${peer.peer}: ${JSON.stringify({ inFlight: peer.inFlight, queuedBytes: peer.queuedBytes, waiting: peer.waiting })}`,
      );
    }
  }
}
let fifoChecked = 0;
for (const name of names) {
  const w = at(name);
  const fifo = await w.fifo();
  fifoChecked += fifo.checked;
  if (fifo.violations > 0) fail(`${name}: ${fifo.violations} messages from the coordinator arrived out of order`);
  const now = openResources(await w.activeResources());
  if (!same(now, atStart.workers.get(name)!))
    fail(`${name}: open resources ${JSON.stringify(now)}, at the start ${JSON.stringify(atStart.workers.get(name))}`);
  const memory = await w.memory();
  console.log(`${name}: heap ${MB(memory.heapUsed)}, external ${MB(memory.external)}`);
}
if (!same(openResources(), atStart.coordinator))
  fail(`coordinator: open resources ${JSON.stringify(openResources())}, at the start ${JSON.stringify(atStart.coordinator)}`);

await cluster.close();
await settleHandles();
gc();
const after = { resources: openResources(), memory: process.memoryUsage(), listeners: process.eventNames().length };
if (!same(after.resources, before.resources))
  fail(`after close: open resources ${JSON.stringify(after.resources)}, before ${JSON.stringify(before.resources)}`);
if (after.listeners !== before.listeners) fail(`after close: ${after.listeners} process event names, before ${before.listeners}`);
const heapGrowth = after.memory.heapUsed - before.memory.heapUsed;
if (heapGrowth > HEAP_GROWTH) fail(`the coordinator's heap grew ${MB(heapGrowth)} over the run`);
if (unexpected + wrong > 0) fail(`${unexpected} calls failed for another reason than a death, ${wrong} returned a wrong value`);

const summary = {
  calls: TOTAL,
  seconds: Number(trafficSeconds.toFixed(1)),
  callsPerSecond: Math.round(TOTAL / trafficSeconds),
  ok,
  died,
  unexpected,
  wrong,
  kills,
  restarts,
  fifoChecked,
  coordinator: {
    heapBefore: MB(before.memory.heapUsed),
    heapAfter: MB(after.memory.heapUsed),
    peakHeap: MB(peakHeap),
    peakRss: MB(peakRss),
  },
  failures: failures.length,
};
console.log(JSON.stringify(summary, null, 2));
console.log(failures.length === 0 ? 'soak: PASS' : `soak: FAIL (${failures.length})`);
process.exitCode = failures.length === 0 ? 0 : 1;

/** Handles closed just now finish closing once the loop has passed its close phase. */
async function settleHandles(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
}
