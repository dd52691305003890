// The usual pair of scenarios for anything that offers an awaited call: `<prefix>/pipelined` (INFLIGHT calls
// outstanding, calls/s) and `<prefix>/rtt` (one call at a time, p50/p99 µs). Each scenario opens its own
// target, so each starts and ends its own workers.

import { withFixture, type Fixture, type RunOptions, type Scenario } from './harness.js';
import { INFLIGHT, pipelined, pipelineMs, roundTripCount, roundTrips } from './measure.js';

export interface CallTarget {
  /** One awaited request+reply, e.g. `() => remote.inc(1)`. */
  call(): Promise<unknown>;
  /** Ends every thread, process and socket that `open` started. */
  close(): Promise<void>;
}

export interface CallScenarioOptions {
  readonly prefix: string;
  readonly group: string;
  open(opts: RunOptions): Promise<CallTarget>;
  /** Scenario names to compare against. */
  readonly baselines?: { readonly pipelined?: string; readonly rtt?: string };
}

export function callScenarios(o: CallScenarioOptions): Scenario[] {
  const fixture = (measure: Fixture<CallTarget>['measure']): Fixture<CallTarget> => ({
    open: o.open,
    measure,
    close: (t) => t.close(),
  });
  return [
    withFixture(
      { name: `${o.prefix}/pipelined`, group: o.group, unit: 'calls/s', higherIsBetter: true, ...baseline(o.baselines?.pipelined) },
      fixture((t, opts) => pipelined(() => t.call(), INFLIGHT, pipelineMs(opts))),
    ),
    withFixture(
      { name: `${o.prefix}/rtt`, group: o.group, unit: 'µs', higherIsBetter: false, ...baseline(o.baselines?.rtt) },
      fixture((t, opts) => roundTrips(() => t.call(), roundTripCount(opts))),
    ),
  ];
}

function baseline(name: string | undefined): { baseline?: string } {
  return name === undefined ? {} : { baseline: name };
}
