// The shared-memory transport side by side with convoy over MessagePort and with raw MessagePort, for
// coordinator ↔ thread and thread ↔ thread, interleaved for a shared, noisy machine:
//
//   npm run build && node --import tsx bench/shm.ts [--rounds 10] [--calls 2000] [--window-ms 300]
//                                                   [--spin 200] [--rings 65536,262144,1048576] [--idle-ms 3000]
//
// Three clusters run in this process at once — `port` (convoy over MessagePort), `shm` (sharedMemory)
// and `spin` (sharedMemory with spinMicros) — each a caller and a callee thread of bench-worker.mjs, plus
// raw floor threads (shm-floors.ts). Every scenario takes rounds; in each round every subject runs one
// short window (the order rotates), and the report gives each subject's median and the median [min–max]
// of its per-round ratios to convoy over MessagePort and to raw MessagePort: the machine's drift hits
// every subject of a round alike. CPU is the process's (every thread's) user+system time per call.
// One call at a time is measured twice: as the scheduler places the threads (every subject), then with
// the process pinned to one CPU (all but `spin`, which needs a CPU of its own), as the main bench judges it.
// `--rings` adds a `shm` subject per ring size instead, to choose the default. Before that: the idle CPU
// of each kind of cluster alone, and the floors (a busy-spin round trip, Atomics.waitAsync wakes).

import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { BenchApi } from './fixtures/bench-worker.mjs';
import { INFLIGHT, notifyRate, pipelined, roundTrips } from './measure.js';
import { pinToOneCpu } from './pin.js';
import { startFloors } from './shm-floors.js';
import { type EchoLink, startEcho } from './shm-transport.js';
import { benchWorker } from './worker-spec.mjs';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '10' },
    calls: { type: 'string', default: '2000' },
    'window-ms': { type: 'string', default: '300' },
    // Longer than a wake-up of this machine's idle CPUs (~55 µs p50): a spin shorter than the other side's
    // wake-up never catches an answer once both sides have slept (docs/shared-memory.md).
    spin: { type: 'string', default: '200' },
    rings: { type: 'string' },
    'idle-ms': { type: 'string', default: '3000' },
  },
});
const rounds = Number(args.rounds);
const calls = Number(args.calls);
const windowMs = Number(args['window-ms']);
const spinMicros = Number(args.spin);
const idleMs = Number(args['idle-ms']);

const root = fileURLToPath(new URL('..', import.meta.url));
const index = path.join(root, 'dist/src/index.js');
const internalsIndex = path.join(root, 'dist/src/internals.js');
const convoy = (await import(pathToFileURL(index).href)) as typeof import('../src/index.js');
const internals = (await import(pathToFileURL(internalsIndex).href)) as typeof import('../src/internals.js');
type ClusterOptions = import('../src/index.js').ClusterOptions;

const kinds: Record<string, Partial<ClusterOptions>> = args.rings
  ? Object.fromEntries([
      ['port', {}],
      ...args.rings.split(',').map((bytes) => [`shm-${Number(bytes) / 1024}K`, { sharedMemory: true, ringBytes: Number(bytes) }]),
    ])
  : {
      port: {},
      // A second cluster exactly like \`port\`: how far two identical subjects read apart here is the noise a
      // ratio to \`port\` must clear before it says anything about the transport.
      'port again': {},
      shm: { sharedMemory: true },
      spin: { sharedMemory: true, spinMicros },
    };

const start = (options: Partial<ClusterOptions>) =>
  convoy.startCluster({ ...options, workers: [benchWorker('caller', index), benchWorker('callee', index)] });

/** One window's result: the figure(s), how many calls it made and in how many frames they left. */
interface Window {
  value: number;
  p99?: number;
  calls: number;
  frames?: number;
}
type Measure = () => Promise<Window>;

function subjectMeasures(cluster: import('../src/index.js').Cluster): Record<string, Measure> {
  const callee = cluster.worker<BenchApi>('callee');
  const caller = cluster.worker<BenchApi>('caller');
  /** Frames sent so far on the measured channel, by the coordinator or by the caller thread. */
  const framesSent = async (from: 'coord' | 'caller'): Promise<number> => {
    const { workers } = await cluster.stats();
    if (from === 'coord') return workers.find((w) => w.name === 'callee')!.control!.batchesSent;
    return workers.find((w) => w.name === 'caller')!.peers.find((p) => p.peer === 'callee')!.batchesSent;
  };
  /** A rate measured elsewhere, with the calls it made (rate × this side's elapsed time) and their frames. */
  const rated = async (from: 'coord' | 'caller', measure: () => Promise<number>): Promise<Window> => {
    const frames = await framesSent(from);
    const began = performance.now();
    const rate = await measure();
    const made = (rate * (performance.now() - began)) / 1000;
    return { value: rate, calls: made, frames: (await framesSent(from)) - frames };
  };
  return {
    'coord↔thread one at a time': async () => {
      const { p50, p99 } = await roundTrips(() => callee.inc(1), calls);
      return { value: p50, p99, calls };
    },
    'thread↔thread one at a time': async () => {
      const { p50, p99 } = await caller.pingPeer('callee', calls);
      return { value: p50, p99, calls };
    },
    'coord→thread pipelined': () => rated('coord', () => pipelined(() => callee.inc(1), INFLIGHT, windowMs)),
    'thread→thread pipelined': () => rated('caller', () => caller.benchPeer('callee', windowMs, INFLIGHT)),
    'coord→thread notify': () => {
      const oneWay = convoy.notify(callee);
      return rated('coord', () =>
        notifyRate(
          () => oneWay.inc(1),
          () => callee.get(),
          INFLIGHT,
          windowMs,
        ),
      );
    },
    'thread→thread notify': () => rated('caller', () => caller.benchNotify('callee', windowMs, INFLIGHT)),
  };
}

/** Runs `measure`, adding the process's CPU µs per call. */
async function withCpu(measure: Measure): Promise<Window & { cpuPerCall: number }> {
  const before = process.cpuUsage();
  const window = await measure();
  const used = process.cpuUsage(before);
  return { ...window, cpuPerCall: (used.user + used.system) / window.calls };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const spread = (xs: number[]): string => `${median(xs).toFixed(2)} [${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}]`;
const fmt = (x: number): string => (x >= 10_000 ? `${(x / 1000).toFixed(0)}k` : x >= 100 ? x.toFixed(0) : x.toFixed(1));
const log = (line: string): void => console.log(line);
const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');

log(`# convoy shared-memory transport, ${new Date().toISOString()}, Node ${process.version}`);
log(`load average at start: ${load()}; ${rounds} rounds, ${calls} calls per one-at-a-time window, ${windowMs} ms windows\n`);

// --- idle CPU: each kind of cluster alone, doing nothing but its heartbeats ---------------------------
// A first cluster of each kind loads and compiles what the later ones reuse (the shared-memory transport is
// a chunk loaded on first use): started and closed before measuring, or the first shared-memory cluster
// measured would carry that work.
for (const options of [{}, ...Object.values(kinds)]) await (await start(options)).close();
/** A started cluster's threads go on compiling for a moment: measured once this has passed. */
const IDLE_SETTLE_MS = 1000;
/**
 * The idle time is cut into this many windows, and the median taken: one collection (of this thread's heap
 * or a worker's) costs tens of ms and lands in one window, which it would otherwise make read ~1–3%.
 */
const IDLE_WINDOWS = 6;
log('## Idle cluster (caller + callee threads, heartbeats only): process CPU');
log(`median of ${IDLE_WINDOWS} windows of ${Math.round(idleMs / IDLE_WINDOWS)} ms\n`);
log('| cluster | CPU µs per second | % of one core | windows: min – max % |\n| --- | ---: | ---: | ---: |');
for (const [name, options] of Object.entries({ none: undefined, ...kinds })) {
  const cluster = options ? await start(options) : undefined;
  await new Promise((resolve) => setTimeout(resolve, IDLE_SETTLE_MS));
  const perSecond: number[] = [];
  for (let i = 0; i < IDLE_WINDOWS; i++) {
    const before = process.cpuUsage();
    const began = performance.now();
    await new Promise((resolve) => setTimeout(resolve, idleMs / IDLE_WINDOWS));
    const used = process.cpuUsage(before);
    perSecond.push(((used.user + used.system) * 1000) / (performance.now() - began));
  }
  const middle = median(perSecond);
  const percent = (x: number): string => (x / 10_000).toFixed(2);
  log(`| ${name} | ${middle.toFixed(0)} | ${percent(middle)}% | ${percent(Math.min(...perSecond))} – ${percent(Math.max(...perSecond))} |`);
  await cluster?.close();
}

// --- the floors -----------------------------------------------------------------------------------
const floors = await startFloors();
const floorRuns = {
  spin: [] as number[],
  spin99: [] as number[],
  wa: [] as number[],
  wa99: [] as number[],
  wake: [] as number[],
  wake99: [] as number[],
};
for (let round = 0; round < Math.min(rounds, 5); round++) {
  const spin = await floors.spinRtt(calls);
  const wa = await floors.waitAsyncRtt(calls);
  floorRuns.spin.push(spin.p50);
  floorRuns.spin99.push(spin.p99);
  floorRuns.wa.push(wa.p50);
  floorRuns.wa99.push(wa.p99);
  floorRuns.wake.push(wa.wakeP50);
  floorRuns.wake99.push(wa.wakeP99);
}
log('\n## Floors, coordinator ↔ one thread (µs, median of rounds)');
log('| round trip | p50 | p99 |\n| --- | ---: | ---: |');
log(`| busy spin on a shared flag, both sides (the physical floor) | ${fmt(median(floorRuns.spin))} | ${fmt(median(floorRuns.spin99))} |`);
log(`| both sides asleep in Atomics.waitAsync | ${fmt(median(floorRuns.wa))} | ${fmt(median(floorRuns.wa99))} |`);
log(`| one Atomics.waitAsync wake-up (notify → the sleeper runs) | ${fmt(median(floorRuns.wake))} | ${fmt(median(floorRuns.wake99))} |`);

// --- the interleaved scenarios ---------------------------------------------------------------------
const clusters = Object.fromEntries(await Promise.all(Object.entries(kinds).map(async ([name, o]) => [name, await start(o)] as const)));
const measures = Object.fromEntries(Object.entries(clusters).map(([name, cluster]) => [name, subjectMeasures(cluster)]));
const rawLatency = async (scenario: string): Promise<Window> => {
  const { p50, p99 } = await (scenario.startsWith('coord') ? floors.portRtt(calls) : floors.portPeerRtt(calls));
  return { value: p50, p99, calls };
};

/** Runs every subject of a scenario in rotating order, `rounds` times, and prints the table. */
async function interleave(scenario: string, subjects: Record<string, Measure>, latency: boolean): Promise<void> {
  const names = Object.keys(subjects);
  for (const name of names) for (let i = 0; i < 2; i++) await subjects[name]!();
  const results: Record<string, (Window & { cpuPerCall: number })[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + round) % names.length]!;
      results[name]!.push(await withCpu(subjects[name]!));
    }
  }
  log(`\n## ${scenario} (${latency ? 'µs per round trip' : 'per second'}; ratios > 1: better than the baseline)`);
  const head = latency
    ? ['p50', 'p99', 'CPU µs each', '× convoy port (p50)', '× raw port (p50)', '× raw port (p99)']
    : ['per second', 'CPU µs each', '× convoy port', 'calls per frame'];
  log(`| subject | ${head.join(' | ')} |\n| --- |${head.map(() => ' ---: |').join('')}`);
  for (const name of names) {
    const runs = results[name]!;
    // Better-than ratios per round: baseline/this for latencies, this/baseline for rates.
    const ratio = (base: string, pick: (w: Window) => number) =>
      results[base] ? spread(runs.map((w, r) => (latency ? pick(results[base]![r]!) / pick(w) : pick(w) / pick(results[base]![r]!)))) : '';
    const of = (pick: (w: Window & { cpuPerCall: number }) => number) => fmt(median(runs.map(pick)));
    const cells = latency
      ? [
          of((w) => w.value),
          of((w) => w.p99!),
          of((w) => w.cpuPerCall),
          ratio('port', (w) => w.value),
          ratio('raw', (w) => w.value),
          ratio('raw', (w) => w.p99!),
        ]
      : [of((w) => w.value), of((w) => w.cpuPerCall), ratio('port', (w) => w.value), runs[0]!.frames ? of((w) => w.calls / w.frames!) : ''];
    log(`| ${name} | ${cells.join(' | ')} |`);
  }
}

// --- the transports alone: frames echoed by a thread --------------------------------------------------
if (!args.rings) {
  const links = {
    port: await startEcho(internals, internalsIndex),
    shm: await startEcho(internals, internalsIndex, { bytes: convoy.DEFAULTS.ringBytes, spinMicros: 0 }),
    spin: await startEcho(internals, internalsIndex, { bytes: convoy.DEFAULTS.ringBytes, spinMicros }),
  };
  const each = (measure: (link: EchoLink) => Promise<Window>) =>
    Object.fromEntries(Object.entries(links).map(([name, link]) => [name, () => measure(link)]));
  await interleave(
    'transport alone: one 64-byte frame at a time, coord↔thread',
    each(async (link) => {
      const { p50, p99 } = await link.rtt(64, calls);
      return { value: p50, p99, calls };
    }),
    true,
  );
  for (const [bytes, inflight] of [
    [64, 256],
    [4096, 32],
  ] as const) {
    await interleave(
      `transport alone: ${bytes}-byte frames, ${inflight} in flight, coord↔thread (frames/s)`,
      each(async (link) => {
        const rate = await link.pipelined(bytes, inflight, windowMs);
        return { value: rate, calls: (rate * windowMs) / 1000 };
      }),
      false,
    );
  }
  await Promise.all(Object.values(links).map((link) => link.close()));
}

// --- convoy calls and notifies ------------------------------------------------------------------------
for (const scenario of Object.keys(measures.port!)) {
  const latency = scenario.endsWith('one at a time');
  const subjects: Record<string, Measure> = Object.fromEntries(Object.entries(measures).map(([name, m]) => [name, m[scenario]!]));
  if (latency) subjects.raw = () => rawLatency(scenario);
  await interleave(scenario, subjects, latency);
  if (!latency || args.rings) continue;
  // Without a spin, again on one CPU, as the main bench judges one call at a time (bench/pin.ts): unpinned,
  // a window here depends on which CPU the scheduler gave the callee. A spin needs a CPU of its own, so
  // `spin` is left out of this one.
  const unpin = pinToOneCpu();
  try {
    const { spin: _, ...sleeping } = subjects;
    await interleave(`${scenario}, one CPU, no spin`, sleeping, latency);
  } finally {
    unpin();
  }
}

await Promise.all(Object.values(clusters).map((c) => c.close()));
await floors.close();
log(`\nload average at end: ${load()}`);
