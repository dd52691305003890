/**
 * `GET /metrics`: the collector's latest reading in Prometheus' text format, through prom-client on a
 * registry of its own (never the global one, which belongs to the application). Counters are the
 * collector's totals, which only grow (restarts included); gauges are the latest reading.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { BUCKETS_PER_DOUBLING } from '../rpc/call-latency.js';
import { COORDINATOR } from './channels.js';
import type { Collector } from './collector.js';

/** Exported bucket bounds: every power of two from 16 µs to 16.8 s (the page uses finer ones). */
const EXPORTED_POWERS_OF_TWO_US = Array.from({ length: 21 }, (_, i) => i + 4);

const LATENCY_NAME = 'convoy_call_duration_seconds';
const LATENCY_HELP = 'Call latency as the caller sees it, from the call to its reply or fault (sampled calls, weighted)';

type Labels<T extends string> = Partial<Record<T, string | number>>;

/**
 * A histogram whose buckets are counted elsewhere (in each caller, merged by the collector): prom-client's
 * Histogram formats them, but can only count one observation at a time, so `get` is given the counts.
 */
class CountedHistogram extends Histogram<'caller' | 'callee' | 'method'> {
  readonly #collector: Collector;

  constructor(registry: Registry, collector: Collector) {
    super({
      name: LATENCY_NAME,
      help: LATENCY_HELP,
      labelNames: ['caller', 'callee', 'method'],
      buckets: EXPORTED_POWERS_OF_TWO_US.map((k) => 2 ** k / 1e6),
      registers: [registry],
    });
    this.#collector = collector;
  }

  override async get(): ReturnType<Histogram<'caller' | 'callee' | 'method'>['get']> {
    // The declared value type has no room for the `le` label every histogram value carries.
    return (await this.getForPromString()) as unknown as Awaited<ReturnType<Histogram<'caller' | 'callee' | 'method'>['get']>>;
  }

  /** What the registry reads when it writes the text format. */
  async getForPromString() {
    return { name: LATENCY_NAME, help: LATENCY_HELP, type: 'histogram' as const, values: this.#values(), aggregator: 'sum' as const };
  }

  #values() {
    const name = LATENCY_NAME;
    const values: { metricName: string; labels: Labels<'caller' | 'callee' | 'method' | 'le'>; value: number }[] = [];
    for (const totals of this.#collector.latency.totals) {
      const labels = { caller: totals.caller, callee: totals.callee, method: totals.method };
      let cumulative = 0;
      let next = 0;
      for (const power of EXPORTED_POWERS_OF_TWO_US) {
        // Bucket i ends at 2^((i + 1) / 4) µs: the buckets below 2^power µs are those up to 4·power − 1.
        const end = power * BUCKETS_PER_DOUBLING;
        for (; next < end && next < totals.buckets.length; next++) cumulative += totals.buckets[next]!;
        values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: 2 ** power / 1e6 }, value: Math.round(cumulative) });
      }
      values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: Math.round(totals.count) });
      values.push({ metricName: `${name}_sum`, labels, value: totals.sumMs / 1000 });
      values.push({ metricName: `${name}_count`, labels, value: Math.round(totals.count) });
    }
    return values;
  }
}

export function createMetrics(collector: Collector): Registry {
  const registry = new Registry();
  const registers = [registry];
  const latest = () => collector.latest;
  /** The coordinator and every worker, with their event-loop delay and heap. */
  const healthRows = () => {
    const reading = collector.latest;
    return reading ? [{ name: COORDINATOR, ...reading.coordinator }, ...reading.workers] : [];
  };

  new Gauge({
    name: 'convoy_workers',
    help: 'Workers by state',
    labelNames: ['state'],
    registers,
    collect() {
      this.reset();
      for (const [state, count] of Object.entries(latest()?.cluster.workers ?? {})) this.set({ state }, count);
    },
  });
  // The piscina pool's (zero without one).
  const pool = () => latest()?.cluster.pool;
  new Gauge({
    name: 'convoy_pool_threads',
    help: 'Threads of the pool',
    registers,
    collect() {
      this.set(pool()?.threads ?? 0);
    },
  });
  new Gauge({
    name: 'convoy_pool_queued_tasks',
    help: 'Pool tasks waiting for a thread',
    registers,
    collect() {
      this.set(pool()?.queued ?? 0);
    },
  });
  new Counter({
    name: 'convoy_pool_tasks_completed_total',
    help: 'Pool tasks done since the pool started',
    registers,
    collect() {
      this.reset();
      this.inc(pool()?.completed ?? 0);
    },
  });
  new Gauge({
    name: 'convoy_worker_up',
    help: 'Whether the worker is ready (1) or not (0)',
    labelNames: ['worker', 'spec', 'kind'],
    registers,
    collect() {
      this.reset();
      for (const w of latest()?.workers ?? []) this.set({ worker: w.name, spec: w.spec, kind: w.kind }, w.state === 'ready' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'convoy_worker_incarnation',
    help: 'The incarnation of the worker (0, then one more per restart)',
    labelNames: ['worker'],
    registers,
    collect() {
      this.reset();
      for (const w of latest()?.workers ?? []) this.set({ worker: w.name }, w.incarnation);
    },
  });
  new Counter({
    name: 'convoy_worker_restarts_total',
    help: 'Restarts that brought the worker back',
    labelNames: ['worker'],
    registers,
    collect() {
      this.reset();
      for (const w of latest()?.workers ?? []) this.inc({ worker: w.name }, collector.events.restarts.get(w.name) ?? 0);
    },
  });
  new Counter({
    name: 'convoy_worker_deaths_total',
    help: 'Worker exits, by reason (exit, crash, killed, heartbeat, disconnected)',
    labelNames: ['worker', 'reason'],
    registers,
    collect() {
      this.reset();
      for (const [worker, byReason] of collector.events.deaths) for (const [reason, n] of byReason) this.inc({ worker, reason }, n);
    },
  });
  new Gauge({
    name: 'convoy_event_loop_delay_seconds',
    help: 'How late the event loop of a worker (or the coordinator) ran since the reading before',
    labelNames: ['worker', 'quantile'],
    registers,
    collect() {
      this.reset();
      for (const row of healthRows()) {
        const delay = row.eventLoopDelayMs;
        if (!delay) continue;
        this.set({ worker: row.name, quantile: '0.5' }, delay.p50 / 1000);
        this.set({ worker: row.name, quantile: '0.99' }, delay.p99 / 1000);
      }
    },
  });
  new Gauge({
    name: 'convoy_heap_used_bytes',
    help: 'V8 heap in use by a worker (or the coordinator)',
    labelNames: ['worker'],
    registers,
    collect() {
      this.reset();
      for (const row of healthRows()) {
        if (row.heapUsedBytes !== null) this.set({ worker: row.name }, row.heapUsedBytes);
      }
    },
  });
  const pairCounter = (name: string, help: string, field: 'calls' | 'notifies' | 'faults' | 'bytes') =>
    new Counter({
      name,
      help,
      labelNames: ['from', 'to'],
      registers,
      collect() {
        this.reset();
        for (const totals of collector.pairTotals.values()) this.inc({ from: totals.from, to: totals.to }, totals[field]);
      },
    });
  pairCounter('convoy_channel_calls_total', 'Calls sent on a channel (to the coordinator: calls and notifies it served)', 'calls');
  pairCounter('convoy_channel_notifies_total', 'Notifies sent on a channel', 'notifies');
  pairCounter('convoy_channel_faults_total', 'Calls on a channel that failed in the handler', 'faults');
  pairCounter(
    'convoy_channel_sent_bytes_total',
    'Bytes sent on a channel: calls, notifies and replies, transferred buffers included',
    'bytes',
  );
  const pairGauge = (name: string, help: string, field: 'inFlight' | 'queuedBytes' | 'waiting') =>
    new Gauge({
      name,
      help,
      labelNames: ['from', 'to'],
      registers,
      collect() {
        this.reset();
        for (const pair of latest()?.pairs ?? []) if (pair[field] !== null) this.set({ from: pair.from, to: pair.to }, pair[field]);
      },
    });
  pairGauge('convoy_channel_in_flight_calls', 'Calls awaiting a reply on a channel', 'inFlight');
  pairGauge('convoy_channel_queued_bytes', 'Bytes queued to send on a channel', 'queuedBytes');
  pairGauge('convoy_channel_waiting_messages', 'Messages waiting for room on a channel (backpressure)', 'waiting');
  new CountedHistogram(registry, collector);
  return registry;
}
