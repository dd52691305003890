// One large argument per call, coordinator → thread, one call at a time:
//   payload/coord-thread-copy-<size>       the Uint8Array is encoded into the frame (msgpackr), as any argument
//   payload/coord-thread-transfer-<size>   the same call with transfer(bytes, [bytes.buffer]): the buffer
//                                           moves beside the frame
// Baselines: a raw postMessage of the ArrayBuffer, cloned or transferred (baselines/port-payload.ts).

import type { Cluster } from '../../src/index.js';
import { withFixture, type Scenario } from '../harness.js';
import { PAYLOAD_SIZES, msPerPayload, payloadCalls } from '../payload.js';
import { GROUPS, convoy, spec, start, type BenchApi } from './common.js';

function payloadScenario(label: string, bytes: number, transfer: boolean): Scenario {
  const how = transfer ? 'transfer' : 'copy';
  return withFixture<Cluster>(
    {
      name: `convoy/payload/coord-thread-${how}-${label}`,
      group: GROUPS.payload,
      unit: 'ms',
      higherIsBetter: false,
      baseline: `port/payload-${transfer ? 'transfer' : 'clone'}-${label}`,
    },
    {
      open: () => start([spec('callee', 'thread')]),
      measure(cluster, o) {
        const callee = cluster.worker<BenchApi>('callee');
        return msPerPayload(bytes, payloadCalls(o, bytes), (buffer) =>
          callee.byteLength(transfer ? convoy.transfer(buffer, [buffer.buffer as ArrayBuffer]) : buffer),
        );
      },
      close: (cluster) => cluster.close(),
    },
  );
}

export const payloadScenarios: Scenario[] = PAYLOAD_SIZES.flatMap(({ label, bytes }) => [
  payloadScenario(label, bytes, false),
  payloadScenario(label, bytes, true),
]);
