// Scale: startCluster() time as the cluster grows, and calls/s across the whole mesh.
//   start/<kind>-<n>   `start` = startCluster() until it resolves (every worker loaded and connected to
//                      every other: n(n-1)/2 channels), `close` = cluster.close() after it
//   mesh/<kind>-<n>    every worker keeps INFLIGHT calls in flight, spread round-robin over all its peers,
//                      for the pipelined duration; the sum of the workers' calls/s
// `mixed` alternates thread and process. --quick keeps only start/mixed-2 and mesh/threads-4.
// Clusters of 16 or more workers get `handshakeTimeoutMs: 10000`: with the default (1000 ms), 16–32
// processes booting at once on a loaded 2-core machine sometimes miss it ("Connection closed during the
// handshake", the worker exits 70 and startCluster() fails); that is a finding, not a figure to measure.

import type { Cluster } from '../../src/index.js';
import { withFixture, type Scenario } from '../harness.js';
import { INFLIGHT, pipelineMs } from '../measure.js';
import { GROUPS, QUICK, specs, start, type BenchApi, type Kind } from './common.js';

type Shape = Kind | 'mixed';
const plural = (k: Shape) => (k === 'mixed' ? 'mixed' : k === 'thread' ? 'threads' : 'processes');

/** See the note at the top. */
const options = (n: number) => (n >= 16 ? { handshakeTimeoutMs: 10_000 } : {});

function startScenario(kind: Shape, n: number): Scenario {
  return {
    name: `convoy/start/${plural(kind)}-${n}`,
    group: GROUPS.start,
    unit: 'ms',
    higherIsBetter: false,
    async run() {
      const t0 = performance.now();
      const cluster = await start(specs(n, kind), options(n));
      const started = performance.now() - t0;
      if (cluster.names.length !== n) throw new Error(`expected ${n} workers, got ${cluster.names.length}`);
      const t1 = performance.now();
      await cluster.close();
      return { start: started, close: performance.now() - t1 };
    },
  };
}

function meshScenario(kind: Shape, n: number): Scenario {
  return withFixture<Cluster>(
    { name: `convoy/mesh/${plural(kind)}-${n}`, group: GROUPS.mesh, unit: 'calls/s', higherIsBetter: true },
    {
      async open(o) {
        const cluster = await start(specs(n, kind), options(n));
        // As for the pair scenarios (calls.ts): let V8 optimise every worker's path before measuring.
        await Promise.all(cluster.names.map((w) => cluster.worker<BenchApi>(w).benchMesh(o.quick ? 300 : 1000, INFLIGHT)));
        return cluster;
      },
      async measure(cluster, o) {
        const rates = await Promise.all(cluster.names.map((w) => cluster.worker<BenchApi>(w).benchMesh(pipelineMs(o), INFLIGHT)));
        return rates.reduce((a, b) => a + b, 0);
      },
      close: (cluster) => cluster.close(),
    },
  );
}

const START: [Shape, number][] = QUICK
  ? [['mixed', 2]]
  : [
      ['thread', 4],
      ['thread', 16],
      ['thread', 32],
      ['process', 4],
      ['process', 16],
      ['process', 32],
      ['mixed', 4],
      ['mixed', 16],
      ['mixed', 32],
    ];

const MESH: [Shape, number][] = QUICK
  ? [['thread', 4]]
  : [
      ['thread', 4],
      ['thread', 8],
      ['thread', 16],
      ['process', 4],
      ['process', 8],
      ['mixed', 4],
      ['mixed', 16],
    ];

export const startScenarios: Scenario[] = START.map(([k, n]) => startScenario(k, n));
export const meshScenarios: Scenario[] = MESH.map(([k, n]) => meshScenario(k, n));
