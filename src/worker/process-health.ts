/**
 * How a thread or process is doing, as a worker reports it in its stats answer (and the coordinator for
 * itself): event-loop delay since the previous reading, and heap. Nothing runs until the first reading:
 * the delay monitor starts then, and stops again once no reading has come for IDLE_STOP_MS, so a cluster
 * nobody watches pays nothing for it.
 */
import type { IntervalHistogram } from 'node:perf_hooks';

export interface ProcessHealth {
  /**
   * How late the event loop ran timers since the previous reading (beyond the monitor's own interval),
   * in milliseconds; null on the first reading, which only starts the monitor.
   */
  eventLoopDelayMs: { p50: number; p99: number; max: number } | null;
  /** This thread's V8 heap (a thread has its own heap, within its process). */
  heapUsedBytes: number;
  heapTotalBytes: number;
}

/**
 * The monitor's timer interval: the delay it reports is measured against it. Each worker wakes this often
 * while a dashboard reads: 64 idle threads spent ~70 ms of CPU a second on it (a median of four runs);
 * at 50 ms, ~25 ms. But a coarser timer misses stalls shorter than itself: at 20 ms, stalls of 5, 10 and
 * 30 ms read as 4.5, 8.4 and 29.5 ms (max), at 50 ms as 0.7, 6.6 and 18.5 (`node bench/delay-monitor.mjs`).
 * A dashboard is there to show such stalls.
 */
export const RESOLUTION_MS = 20;
/** Longer than a page's slowest pace (10 s) and a usual Prometheus scrape interval (15–60 s). */
const IDLE_STOP_MS = 120_000;

let monitor: IntervalHistogram | undefined;
let idleStop: NodeJS.Timeout | undefined;

function stop(): void {
  monitor?.disable();
  monitor = undefined;
  clearTimeout(idleStop);
  idleStop = undefined;
}

const lateMs = (nanoseconds: number): number => Math.max(0, nanoseconds / 1e6 - RESOLUTION_MS);

export function readProcessHealth(): ProcessHealth {
  // node:v8 and node:perf_hooks are loaded at the first reading, not with the module: every worker
  // would pay for loading them at its start, and most are never asked.
  const heap = process.getBuiltinModule('node:v8').getHeapStatistics();
  let eventLoopDelayMs: ProcessHealth['eventLoopDelayMs'] = null;
  if (idleStop) idleStop.refresh();
  else idleStop = setTimeout(stop, IDLE_STOP_MS).unref();
  if (!monitor) {
    monitor = process.getBuiltinModule('node:perf_hooks').monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    monitor.enable();
  } else if (monitor.count > 0) {
    eventLoopDelayMs = { p50: lateMs(monitor.percentile(50)), p99: lateMs(monitor.percentile(99)), max: lateMs(monitor.max) };
    monitor.reset();
  }
  return { eventLoopDelayMs, heapUsedBytes: heap.used_heap_size, heapTotalBytes: heap.total_heap_size };
}
