// CPU profile of convoy's hot path: pipelined calls (INFLIGHT in flight, `inc(1)`), profiled on both
// sides of the channel for the measured window only (after a warm-up), then summarised by self time.
//
//   node --import tsx bench/profile-calls.ts [--pair coord-thread|thread-thread|coord-process|process-process]
//                                            [--notify | --rtt] [--shm [--spin µs]] [--seconds 5] [--warmup 2] [--top 25] [--out bench/results/profiles]
// --notify profiles one-way notifies instead (bursts of 1000 from a worker caller: thread-thread, process-process);
// --rtt one call at a time. --shm: thread pairs over the shared-memory transport (sharedMemory), with
// spinMicros --spin (0 by default).
//
// Both sides are profiled with the inspector (node:inspector Session in this thread and in the workers,
// sampling every 100 µs), so the profile holds only the measured window; the .cpuprofile files are written
// to --out (open them in Chrome DevTools or VS Code) and summarised by bench/profile-summary.ts.
// `node --cpu-prof --import tsx bench/profile-calls.ts` also works; it adds a whole-run profile of the
// coordinator (start-up included) in the current directory.
// Uses the same convoy build as the bench (dist/ when up to date; see bench/scenarios/convoy.ts).

import { mkdir, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { INFLIGHT, pipelined } from './measure.js';
import { report } from './profile-summary.js';
import { flavor, flavorNote, spec, start, type BenchApi, type Kind } from './scenarios/common.js';

const { values: args } = parseArgs({
  options: {
    pair: { type: 'string', default: 'coord-thread' },
    notify: { type: 'boolean', default: false },
    rtt: { type: 'boolean', default: false },
    shm: { type: 'boolean', default: false },
    spin: { type: 'string', default: '0' },
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    top: { type: 'string', default: '25' },
    out: { type: 'string', default: 'bench/results/profiles' },
  },
});

const pair = args.pair!;
const [callerKind, calleeKind] = pair.split('-') as [string, Kind];
if (!['coord', 'thread', 'process'].includes(callerKind) || !['thread', 'process'].includes(calleeKind)) {
  throw new Error(`--pair: expected coord-thread, thread-thread, coord-process or process-process, got ${pair}`);
}
const ms = Number(args.seconds) * 1000;
const warmupMs = Number(args.warmup) * 1000;
const top = Number(args.top);
console.error(
  `profiling ${pair} ${args.rtt ? 'one call at a time' : args.notify ? 'notifies' : 'pipelined calls'}${args.shm ? ` over shared memory (spin ${args.spin} µs)` : ''}, ${flavor === 'dist' ? 'compiled dist/' : 'from source'} (${flavorNote})`,
);

const workers = callerKind === 'coord' ? [spec('callee', calleeKind)] : [spec('caller', callerKind as Kind), spec('callee', calleeKind)];
const cluster = await start(workers, args.shm ? { sharedMemory: true, spinMicros: Number(args.spin) } : {});
const callee = cluster.worker<BenchApi>('callee');
const caller = callerKind === 'coord' ? undefined : cluster.worker<BenchApi>('caller');
if (args.notify && !caller) throw new Error('--notify needs a worker caller: --pair thread-thread or process-process');
/** One call at a time for `duration` (from the coordinator, or from the caller worker in batches). */
async function oneAtATime(duration: number): Promise<number> {
  const end = performance.now() + duration;
  let calls = 0;
  const t0 = performance.now();
  while (performance.now() < end) {
    if (caller) {
      await caller.pingPeer('callee', 1000);
      calls += 1000;
    } else {
      await callee.inc(1);
      calls++;
    }
  }
  return (calls * 1000) / (performance.now() - t0);
}
const run = (duration: number): Promise<number> =>
  args.rtt
    ? oneAtATime(duration)
    : args.notify
      ? caller!.benchNotify('callee', duration, INFLIGHT)
      : caller
        ? caller.benchPeer('callee', duration, INFLIGHT)
        : pipelined(() => callee.inc(1), INFLIGHT, duration);

try {
  console.error(`warm-up ${warmupMs} ms: ${Math.round(await run(warmupMs))} calls/s`);
  const session = new Session();
  if (!caller) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
  } else await caller.profileStart();
  await callee.profileStart();
  const rate = await run(ms);
  const calleeProfile = JSON.parse(await callee.profileStop());
  const callerProfile = caller ? JSON.parse(await caller.profileStop()) : (await session.post('Profiler.stop')).profile;
  if (!caller) session.disconnect();
  console.log(
    `${pair} ${args.rtt ? 'one at a time' : args.notify ? 'notify' : 'pipelined'}: ${Math.round(rate)} ${args.notify ? 'notifies' : 'calls'}/s while profiled (${ms} ms, sampling every 100 µs)\n`,
  );

  await mkdir(args.out!, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const files: string[] = [];
  for (const [side, profile] of [
    [callerKind === 'coord' ? 'coordinator' : `caller-${callerKind}`, callerProfile],
    [`callee-${calleeKind}`, calleeProfile],
  ] as const) {
    const file = path.join(args.out!, `${pair}-${side}-${stamp}.cpuprofile`);
    await writeFile(file, JSON.stringify(profile));
    files.push(file);
    console.log(`${report(profile, top, `${side} (${file})`)}\n`);
  }
} finally {
  await cluster.close();
}
