// Scale: calls/s across the whole mesh (start-up is measured against its floor in suites/startup.ts).
//   mesh/<kind>-<n>    every worker keeps INFLIGHT calls in flight, spread round-robin over all its peers,
//                      for the pipelined duration; the sum of the workers' calls/s
// `mixed` alternates thread and process. --quick keeps only mesh/threads-4.
// Meshes of 16 or more workers get `handshakeTimeoutMs: 10000`: with the default (1000 ms), 16–32
// processes booting at once on a loaded 2-core machine sometimes miss it; whether defaults start is the
// start-up suite's question, not this one's.

import type { Cluster } from '../../src/index.js';
import { withFixture, type Scenario } from '../harness.js';
import { INFLIGHT, pipelineMs } from '../measure.js';
import { GROUPS, QUICK, specs, start, type BenchApi, type Kind } from './common.js';

type Shape = Kind | 'mixed';
const plural = (k: Shape) => (k === 'mixed' ? 'mixed' : k === 'thread' ? 'threads' : 'processes');

/** See the note at the top. */
const options = (n: number) => (n >= 16 ? { handshakeTimeoutMs: 10_000 } : {});

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

export const meshScenarios: Scenario[] = MESH.map(([k, n]) => meshScenario(k, n));
