/**
 * Leaks: after 50k calls across a mixed mesh (coordinator → worker calls and notifies, worker →
 * peer relays), with a thread and a process killed and restarted in the middle of it, nothing is left
 * behind: no pending call, queued byte or waiting message on any channel (cluster.stats()), no timer or
 * stale socket or port in any worker, the coordinator's retained heap back where it was, and after
 * close() the coordinator's open resources and process listeners exactly as before the cluster — with
 * the threads' channels on their MessagePorts, and on shared-memory rings.
 * The long version of this is scripts/soak.ts.
 */
import test from 'ava';
import { RemoteError, WorkerDiedError, notify, startCluster, type Cluster, type WorkerRestartEvent } from '../src/index.js';
import { MB, mb, readMemory, retained } from './fixtures/hardening-memory.js';
import type { Sink } from './fixtures/hardening-sink.js';
import { THREAD_TRANSPORTS, fixture, startFor, statsAtRest, within } from './helpers/cluster.js';
import { nextTurn } from './helpers/deadline.js';
import { openResources } from './helpers/leaks.js';

const SINK = fixture('hardening-sink.ts');
const CALLS = 50_000;
const WAVE = 1000;
const NAMES = ['t-0', 't-1', 'p-0', 'p-1'];

/** Lets handles closed just now finish closing: their close callbacks run after the check phase. */
async function handlesSettled(): Promise<void> {
  await nextTurn();
  await nextTurn();
}

function processListeners(): Record<string, number> {
  return Object.fromEntries(process.eventNames().map((name) => [String(name), process.listenerCount(name)]));
}

/** A death seen by a caller: directly, or through a relaying worker whose peer died. */
function isDeath(error: unknown): boolean {
  return error instanceof WorkerDiedError || (error instanceof RemoteError && error.data.code === 'ERR_CONVOY_WORKER_DIED');
}

/** A call on every ordered pair: channels open on first use, so this opens the whole mesh. */
async function openEveryPair(cluster: Cluster): Promise<void> {
  await Promise.all(NAMES.flatMap((from) => NAMES.filter((to) => to !== from).map((to) => cluster.worker<Sink>(from).relay(to, 0))));
}

/** One wave of calls: every kind of traffic the mesh carries, spread over every worker. */
function wave(cluster: Cluster, base: number): Promise<unknown>[] {
  const calls: Promise<unknown>[] = [];
  for (let i = 0; i < WAVE; i++) {
    const n = base + i;
    const from = cluster.worker<Sink>(NAMES[n % 4]!);
    const to = NAMES[(n + 1 + ((n >> 2) % 3)) % 4]!; // never `from` itself
    if (n % 10 === 9) calls.push(notify(from).inc(n));
    else if (n % 2 === 0) calls.push(from.inc(n));
    else calls.push(from.relay(to, n));
  }
  return calls;
}

for (const { label, options } of THREAD_TRANSPORTS) {
  test.serial(
    `${label}: 50k calls with a kill and restart of a thread and a process leave no pending call, timer, socket or listener behind`,
    async (t) => {
      // Warm up first (module loading, lazily opened handles), so the baselines below see only what a cluster leaves.
      await (await startCluster({ workers: [{ name: 'w', module: SINK, kind: 'process' }] })).close();
      await handlesSettled();
      const resourcesBefore = openResources();
      const listenersBefore = processListeners();
      const memoryBefore = readMemory();

      const cluster = await startFor(t, {
        ...options,
        restartDelayMs: 10,
        workers: [
          { name: 't', module: SINK, kind: 'thread', count: 2, restart: 'on-failure' },
          { name: 'p', module: SINK, kind: 'process', count: 2, restart: 'on-failure' },
        ],
      });
      const restarts: WorkerRestartEvent[] = [];
      const restartOf = (name: string) =>
        new Promise<void>((resolve) =>
          cluster.on('worker-restart', (event) => {
            if (event.name !== name) return;
            restarts.push(event);
            resolve();
          }),
        );
      // The baseline is a whole mesh: every pair's channel open, as after the run below.
      await within(openEveryPair(cluster), 30_000, 'a call on every pair');
      const workerResourcesAtStart = await Promise.all(
        NAMES.map(async (name) => openResources(await cluster.worker<Sink>(name).activeResources())),
      );
      const coordinatorAtStart = openResources();

      let failed = 0;
      let deaths = 0;
      const started = performance.now();
      // One at a time: two restarts at once hit a wiring bug of their own (hardening-restart.test.ts).
      const victims = new Map([
        [Math.floor(CALLS / 3 / WAVE) * WAVE, 't-1'],
        [Math.floor((2 * CALLS) / 3 / WAVE) * WAVE, 'p-1'],
      ]);
      for (let base = 0; base < CALLS; base += WAVE) {
        const calls = wave(cluster, base);
        const victim = victims.get(base);
        const restarted = victim ? restartOf(victim) : undefined;
        // The kill comes a turn after the wave left: some of its calls are on the wire or running.
        const killing = victim ? nextTurn().then(() => cluster.kill(victim)) : undefined;
        const results = await within(Promise.allSettled(calls), 30_000, `wave at ${base}`);
        for (const result of results) {
          if (result.status === 'fulfilled') continue;
          failed++;
          if (isDeath(result.reason)) deaths++;
          else t.fail(`a call failed with something other than a death: ${String(result.reason)}`);
        }
        if (killing) {
          await within(killing, 10_000, `kill ${victim}`);
          await within(restarted!, 30_000, `restart of ${victim}`);
        }
      }
      t.log(`${CALLS} calls in ${((performance.now() - started) / 1000).toFixed(1)} s; ${failed} failed, all of them with the deaths`);
      t.deepEqual(
        restarts.map((e) => [e.name, e.incarnation]),
        [
          ['t-1', 1],
          ['p-1', 1],
        ],
      );
      t.is(failed, deaths);

      // The restarted workers' pairs open again on their next use; make sure every pair has had one.
      await within(openEveryPair(cluster), 30_000, 'a call on every pair after the restarts');
      // Every channel, both ends, is empty (read at a moment no heartbeat ping is passing through).
      const stats = await statsAtRest(cluster, 5000);
      for (const worker of stats.workers) {
        t.is(worker.state, 'ready', `${worker.name} ready`);
        t.like(worker.control, { inFlight: 0, queuedBytes: 0, waiting: 0 }, `coordinator → ${worker.name}`);
        t.deepEqual(
          worker.peers.map((p) => p.peer).sort(),
          NAMES.filter((n) => n !== worker.name).sort(),
          `${worker.name} has one channel per peer`,
        );
        for (const peer of worker.peers) {
          t.like(peer, { inFlight: 0, queuedBytes: 0, waiting: 0 }, `${worker.name} → ${peer.peer}`);
        }
      }
      // No timer, and exactly the ports and sockets a fresh mesh has: the dead incarnations' are closed.
      const workerResources = await Promise.all(
        NAMES.map(async (name) => openResources(await cluster.worker<Sink>(name).activeResources())),
      );
      NAMES.forEach((name, i) => {
        t.deepEqual(workerResources[i], workerResourcesAtStart[i], `${name}: the same open resources as at the start`);
      });
      t.deepEqual(openResources(), coordinatorAtStart, 'the coordinator: the same open resources as at the start');

      await cluster.close();
      await handlesSettled();
      t.deepEqual(openResources(), resourcesBefore, 'after close: the coordinator has exactly the resources it had before the cluster');
      t.deepEqual(processListeners(), listenersBefore, 'after close: no process listener added');
      const memoryAfter = readMemory();
      t.log(`coordinator retained: ${mb(retained(memoryBefore))} before, ${mb(retained(memoryAfter))} after`);
      t.true(retained(memoryAfter) - retained(memoryBefore) < 16 * MB, 'the coordinator retains nothing of the run');
    },
  );
}
