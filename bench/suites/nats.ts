// Calls across hosts over NATS, against raw `nats` on the same server with the same payload, interleaved.
// One nats-server on loopback and two `convoy agent` processes, each standing for a host: a convoy worker
// on agent b calls one on agent c (threads, each with its own NATS connection), timed in the calling
// worker. The raw baselines run between this process and an echo process of their own, each with its
// own connection: request/reply (one at a time, and pipelined) and publish/subscribe (pipelined).
//   convoy/nats/agent-agent/pipelined   INFLIGHT calls in flight, calls/s
//   convoy/nats/agent-agent/rtt         one call at a time, p50/p99 µs
// Every message carries PAYLOAD_BYTES bytes: convoy echoes a Uint8Array, raw NATS echoes the bytes.

import { type ChildProcess, fork, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NatsConnection } from 'nats';
import type { Cluster } from '../../src/index.js';
import { closeNats, connectNats } from '../../src/transport/nats-connect.js';
import { NatsServer } from '../../test/helpers/nats-server.js';
import { pubsubPipelined, rawRequest } from '../baselines/nats-raw.js';
import type { RunOptions } from '../harness.js';
import type { Arm, Comparison, Suite } from '../interleave.js';
import { INFLIGHT, pipelineMs, pipelined, roundTripCount, roundTrips } from '../measure.js';
import { flavor, flavorLabel, spec, start, type BenchApi } from '../scenarios/common.js';

const PAYLOAD_BYTES = 64;
const CLUSTER = 'bench';
const root = fileURLToPath(new URL('../../', import.meta.url));
/** Calls before any window, so that both workers' paths run optimised. */
const WARM_MS = 3000;
/** Across hosts a window of the usual length holds few round trips: these are longer. */
const windowMs = (opts: RunOptions): number => pipelineMs(opts) * 4;
const roundTripsPerWindow = (opts: RunOptions): number => roundTripCount(opts) / 2;

/** A `convoy agent` process of the build under test (its workers must load the same convoy as the bench's). */
function startAgent(url: string, host: string, secretFile: string): ChildProcess {
  const main = flavor === 'dist' ? path.join(root, 'dist/src/agent/main.js') : path.join(root, 'src/agent/main.ts');
  const argv = [...(flavor === 'dist' ? [] : ['--import', 'tsx']), main, '--nats', url, '--host', host, '--secret-file', secretFile];
  const child = spawn(process.execPath, [...argv, '--cluster', CLUSTER, '--cwd', root], { stdio: 'ignore' });
  child.on('error', () => {});
  return child;
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

export const natsSuite: Suite = {
  name: 'nats',
  group: `calls across hosts over NATS, agent↔agent, ${PAYLOAD_BYTES} B (convoy ${flavorLabel})`,
  async open(opts) {
    const closers: (() => Promise<unknown> | unknown)[] = [];
    const close = async (): Promise<void> => {
      for (const c of closers.reverse()) await c();
    };
    try {
      const server = new NatsServer();
      closers.push(() => server.stop());
      await server.start();
      const dir = mkdtempSync(path.join(tmpdir(), 'convoy-bench-nats-'));
      closers.push(() => rmSync(dir, { recursive: true, force: true }));
      const secretFile = path.join(dir, 'secret');
      writeFileSync(secretFile, randomBytes(32).toString('hex'), { mode: 0o600 });
      for (const host of ['b', 'c']) {
        const agent = startAgent(server.url, host, secretFile);
        closers.push(() => stopProcess(agent));
      }
      const cluster: Cluster = await start([spec('caller', 'thread', { host: 'b' }), spec('callee', 'thread', { host: 'c' })], {
        nats: { servers: server.url, secretFile, cluster: CLUSTER },
      });
      closers.push(() => cluster.close());
      const caller = cluster.worker<BenchApi>('caller');
      await caller.benchPeer('callee', WARM_MS, INFLIGHT, PAYLOAD_BYTES);

      const echo = fork(fileURLToPath(new URL('../baselines/nats-raw.ts', import.meta.url)), [server.url], {
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      });
      closers.push(() => stopProcess(echo));
      await once(echo, 'message');
      const connection: NatsConnection = await connectNats({ servers: server.url }, 'bench raw client');
      closers.push(() => closeNats(connection));
      const request = rawRequest(connection, PAYLOAD_BYTES);
      await pipelined(request, INFLIGHT, WARM_MS);

      const convoyPipelined: Arm = {
        name: 'convoy/nats/agent-agent/pipelined',
        unit: 'calls/s',
        window: () => caller.benchPeer('callee', windowMs(opts), INFLIGHT, PAYLOAD_BYTES),
      };
      const convoyRtt: Arm = {
        name: 'convoy/nats/agent-agent/rtt',
        unit: 'µs',
        window: () => caller.pingPeer('callee', roundTripsPerWindow(opts), PAYLOAD_BYTES) as ReturnType<Arm['window']>,
      };
      const rawSerial: Arm = {
        name: 'nats/request-reply/one-at-a-time',
        unit: 'calls/s',
        window: () => pipelined(request, 1, windowMs(opts)),
      };
      const rawPipelined: Arm = {
        name: 'nats/request-reply/pipelined',
        unit: 'calls/s',
        window: () => pipelined(request, INFLIGHT, windowMs(opts)),
      };
      const rawPubsub: Arm = {
        name: 'nats/publish-subscribe/pipelined',
        unit: 'calls/s',
        window: () => pubsubPipelined(connection, PAYLOAD_BYTES, INFLIGHT, windowMs(opts)),
      };
      const rawRtt: Arm = {
        name: 'nats/request-reply/rtt',
        unit: 'µs',
        window: () => roundTrips(request, roundTripsPerWindow(opts)) as ReturnType<Arm['window']>,
      };
      const comparisons: Comparison[] = [
        {
          subject: convoyPipelined,
          baseline: rawSerial,
          targets: [{ what: 'agent↔agent pipelined ≥ 10× raw NATS request/reply (one at a time)', op: '>=', bound: 10 }],
        },
        {
          subject: convoyRtt,
          baseline: rawRtt,
          targets: [{ what: 'agent↔agent one at a time p50 ≤ 1.3× raw NATS request/reply', metric: 'p50', op: '<=', bound: 1.3 }],
        },
        // Figures without a target: how close batching comes to NATS's own pipelines.
        { subject: convoyPipelined, baseline: rawPipelined },
        { subject: convoyPipelined, baseline: rawPubsub },
      ];
      return { comparisons, close };
    } catch (e) {
      await close();
      throw e;
    }
  },
};
