/**
 * A cluster across hosts: workers on two agents (`b`, `c`, each a `convoy agent` process standing for a
 * machine of its own) and on the coordinator's host. Every pair answers; a pair on two hosts goes over
 * NATS — never the same-host shortcut, though all of them run on this machine — while a pair on one host
 * keeps its MessagePort or TCP; `stats()` and `cluster.hosts()` say where everything is. Options naming
 * a host without `nats`, or with unknown keys, are refused before anything starts.
 */
import { createHash, randomFillSync } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { HostDownError, type WorkerSpec, startCluster, transfer } from '../src/index.js';
import type { RemoteCounter } from './fixtures/counter.js';
import type { TransferWorker } from './fixtures/transfer-worker.js';
import { fixture, startFor, within } from './helpers/cluster.js';
import { HOST_HEALTH, sharedHosts } from './helpers/hosts.js';
import { failOnLeaks } from './helpers/leaks.js';

const hosts = sharedHosts(test, ['b', 'c']);
failOnLeaks(test);

const counter = fixture('counter.ts');
const MB = 1 << 20;

/** The mesh of the first test: who runs where. */
const WORKERS: WorkerSpec[] = [
  { name: 'a', module: counter },
  { name: 'p', module: counter, kind: 'process' },
  { name: 'b1', module: counter, host: 'b' },
  { name: 'b2', module: counter, host: 'b' },
  { name: 'bp', module: counter, host: 'b', kind: 'process' },
  { name: 'c1', module: counter, host: 'c' },
];

/** The transport a pair must use: NATS across hosts; a port between threads of one host; TCP otherwise. */
function expectedTransport(x: WorkerSpec, y: WorkerSpec): string {
  if (x.host !== y.host) return 'nats';
  return (x.kind ?? 'thread') === 'thread' && (y.kind ?? 'thread') === 'thread' ? 'port' : 'tcp';
}

test.serial('every pair answers; pairs on two hosts go over NATS, pairs on one host keep ports and TCP', async (t) => {
  const cluster = await startFor(t, { nats: hosts().nats, ...HOST_HEALTH, workers: WORKERS });
  const names = WORKERS.map((w) => w.name);
  for (const name of names) t.is(await cluster.worker<RemoteCounter>(name).name(), name);
  // Each worker calls every other one: every pair's channel opens, from either side.
  for (const from of names) {
    const results = await within(
      Promise.all(names.filter((to) => to !== from).map((to) => cluster.worker<RemoteCounter>(from).relay(to, 1))),
      20_000,
      `${from} reaches every peer`,
    );
    t.true(results.every((n) => n >= 1));
  }
  const byName = new Map(WORKERS.map((w) => [w.name, w]));
  const stats = await cluster.stats();
  for (const worker of stats.workers) {
    const spec = byName.get(worker.name)!;
    t.is(worker.host, spec.host, `${worker.name}'s host`);
    const control = spec.host !== undefined ? 'nats' : spec.kind === 'process' ? 'tcp' : 'port';
    t.is(worker.control?.transport, control, `coordinator↔${worker.name}`);
    t.deepEqual(worker.peers.map((p) => p.peer).sort(), names.filter((n) => n !== worker.name).sort(), `${worker.name}'s channels`);
    for (const peer of worker.peers) {
      t.is(peer.transport, expectedTransport(spec, byName.get(peer.peer)!), `${worker.name}↔${peer.peer}`);
    }
  }
  const agents = hosts().agents;
  t.deepEqual(
    cluster
      .hosts()
      .map(({ name, state, pid, workers }) => ({ name, state, pid, workers }))
      .sort((x, y) => x.name.localeCompare(y.name)),
    [
      { name: 'b', state: 'up', pid: agents.get('b')!.pid, workers: 3 },
      { name: 'c', state: 'up', pid: agents.get('c')!.pid, workers: 1 },
    ],
  );
});

test.serial('a 100 MB transfer()ed argument crosses hosts intact, coordinator → b and b → c (SHA-256)', async (t) => {
  const cluster = await startFor(t, {
    nats: hosts().nats,
    // Encoding or decoding 100 MB holds a worker's event loop for seconds on a loaded machine.
    heartbeatTimeoutMs: 20_000,
    maxFrameBytes: 128 * MB,
    maxQueuedBytes: 256 * MB,
    workers: [
      { name: 'sender', module: fixture('transfer-worker.ts'), host: 'b' },
      { name: 'receiver', module: fixture('transfer-worker.ts'), host: 'c', kind: 'process' },
    ],
  });
  const bytes = randomFillSync(new Uint8Array(100 * MB));
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const sender = cluster.worker<TransferWorker>('sender');
  const got = await within(sender.digest(transfer(bytes, [bytes.buffer])), 60_000, 'coordinator → b');
  t.deepEqual(got, { length: 100 * MB, sha256 });
  t.is(bytes.byteLength, 0, 'the caller’s buffer is detached once the call is made');
  const report = await within(sender.sendTo('receiver', 100 * MB, 7), 60_000, 'b → c');
  t.deepEqual(report.got, report.expected);
  t.is(report.afterCall, 0);
});

test.serial('a host no agent serves fails the start with HostDownError naming it, within startTimeoutMs', async (t) => {
  const startTimeoutMs = 1500;
  const started = performance.now();
  const error = await t.throwsAsync(
    startCluster({
      nats: hosts().nats,
      ...HOST_HEALTH,
      startTimeoutMs,
      workers: [
        { name: 'b1', module: counter, host: 'b' },
        { name: 'n1', module: counter, host: 'nowhere' },
      ],
    }),
    { instanceOf: HostDownError },
  );
  t.is(error?.code, 'ERR_CONVOY_HOST_DOWN');
  t.is((error as HostDownError).host, 'nowhere');
  t.true(performance.now() - started < startTimeoutMs + 10_000, 'bounded by startTimeoutMs, with room for a loaded machine');
});

test('a NATS server that cannot be reached fails startCluster with an error naming its address, with the client error as cause', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'convoy-secret-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const secretFile = path.join(dir, 'secret');
  writeFileSync(secretFile, 'a'.repeat(64));
  // A loopback port nobody listens on: one just freed.
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  const servers = `nats://127.0.0.1:${port}`;
  const error = await t.throwsAsync(
    within(startCluster({ nats: { servers, secretFile }, workers: [{ name: 'w', module: counter }] }), 20_000, 'startCluster'),
  );
  t.true(error?.message.startsWith(`Cannot reach the NATS server at ${servers}: `), error?.message);
  t.is((error as Error & { code?: string }).code, 'CONNECTION_REFUSED');
  t.true(error?.cause instanceof Error);
});

test('options: a host without `nats`, an unknown `nats` key, a bad host name are refused before anything starts', async (t) => {
  await t.throwsAsync(startCluster({ workers: [{ name: 'w', module: counter, host: 'b' }] }), {
    instanceOf: TypeError,
    message: /workers\[0\]\.host.*nats/,
  });
  await t.throwsAsync(
    startCluster({
      nats: { servers: 'nats://127.0.0.1:1', secretFile: '/nonexistent', sever: 1 } as never,
      workers: [{ name: 'w', module: counter }],
    }),
    { instanceOf: TypeError, message: /`sever`.*`servers`/ },
  );
  await t.throwsAsync(
    startCluster({ nats: { servers: 'nats://127.0.0.1:1', secretFile: '/x' }, workers: [{ name: 'w', module: counter, host: 'b c' }] }),
    { instanceOf: TypeError, message: /workers\[0\]\.host/ },
  );
  await t.throwsAsync(startCluster({ nats: { servers: [], secretFile: '/x' }, workers: [{ name: 'w', module: counter }] }), {
    instanceOf: TypeError,
    message: /nats\.servers/,
  });
  t.deepEqual((await startFor(t, { workers: [{ name: 'w', module: counter }] })).hosts(), [], 'a cluster without `nats` has no hosts');
});
