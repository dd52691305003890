// A gauge of what the host gives this guest: the p50 of a raw MessagePort round trip (structured clone of a
// small object, bench/one-cpu-rtt.mjs `clone`) in a fresh process pinned to one CPU, taken before each
// suite and at the end of a run. The 1-minute load a run reports is the guest's own; what happens on the
// host under it does not show in it, and here it moved that round trip from ~27 to ~38 µs and back within
// seconds to minutes, on an idle guest (docs/benchmarks.md, "Reading the figures on this machine"), one
// virtual CPU at a time (CPU 0 read 36–38 µs while CPU 1 read 28). So the gauge runs on the CPU the
// one-CPU rows are pinned to (pin.ts, firstAllowedCpu).

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { firstAllowedCpu } from './pin.js';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('./one-cpu-rtt.mjs', import.meta.url));
/** ~0.6 s of round trips at ~30 µs, after the script's own 2000 warm-up calls. */
const CALLS = 20_000;

export interface GaugeReading {
  /** The suite it was taken before, or `end`. */
  before: string;
  /** p50 µs; absent if the gauge could not run (no `taskset`). */
  p50?: number;
}

/** One reading; never throws (a run without its gauge is still a run). */
export async function readGauge(before: string): Promise<GaugeReading> {
  try {
    const { stdout } = await run('taskset', ['-c', firstAllowedCpu(), process.execPath, SCRIPT, 'clone', String(CALLS)], {
      timeout: 30_000,
    });
    const p50 = /p50 ([\d.]+) µs/.exec(stdout)?.[1];
    return p50 === undefined ? { before } : { before, p50: Number(p50) };
  } catch {
    return { before };
  }
}

/** The lowest and highest p50 over the readings that worked, or undefined if none did. */
export function gaugeRange(readings: readonly GaugeReading[]): { min: number; max: number } | undefined {
  const values = readings.flatMap((r) => (r.p50 === undefined ? [] : [r.p50]));
  return values.length ? { min: Math.min(...values), max: Math.max(...values) } : undefined;
}

/** That range as the run's summary line and the README header print it (`27.1–38.4 µs`), or undefined. */
export function formatGaugeRange(readings: readonly GaugeReading[]): string | undefined {
  const range = gaugeRange(readings);
  return range && `${range.min.toFixed(1)}–${range.max.toFixed(1)} µs`;
}
