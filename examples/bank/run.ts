// The coordinator of the bank example: start shards and tellers, drive transfers for a while, kill
// workers at random if asked, let everything recover, then check the books and report.
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Cluster, type DashboardOptions, RemoteError, startCluster, type WorkerSpec } from '../../src/index.js';
import { startLocalAgents } from './agents.js';
import { injectFaults, waitUnlessAborted } from './chaos.js';
import { check } from './checker.js';
import type { BankConfig, ShardRecord, TellerRecord } from './config.js';
import { allOpeningBalances, isWorkerDied, walPath } from './config.js';
import { LOCK_DEFAULTS, type LockPolicy } from './lock-table.js';
import { buildReport, type Death, type Recovery, type Report, type Settle } from './report.js';
import type { ShardApi } from './shard.js';
import type { TellerApi } from './teller.js';
import type { TransferResult } from './teller-state.js';
import { readWal } from './wal.js';

export interface BankOptions {
  /** How long transfers run. @default 5 */
  seconds?: number;
  /** @default 4 */
  shards?: number;
  /** @default 2 */
  tellers?: number;
  /** @default 50 */
  accountsPerShard?: number;
  /** @default 1000 */
  initialBalance?: number;
  /** @default 300 */
  maxAmount?: number;
  /** Transfers in flight per teller. @default 16 */
  concurrency?: number;
  /** Transfers per `run` call; the results of a batch die with its teller. @default 200 */
  batch?: number;
  /** Threads, processes, or both alternating (`shard-0` a thread, `shard-1` a process, ...). @default 'thread' */
  kind?: 'thread' | 'process' | 'mixed';
  /** Kill a random worker about this often (0: never). @default 0 */
  chaosEveryMs?: number;
  /** Kill one worker this many ms into the run, always (it must be less than the run). @default none */
  crashAtMs?: number;
  /** @default 'all' */
  chaosTargets?: 'all' | 'shards' | 'tellers';
  /** Where the logs go; must be empty or absent. A directory named here is kept. @default a fresh temporary directory */
  dataDir?: string;
  /** Keep the temporary data directory afterwards (one named by `dataDir` is always kept). @default false */
  keepData?: boolean;
  /** The shard worker module. The tests put a faulty shard here to show the checker can fail. @default ./shard */
  shardModule?: URL;
  /** @default 1 */
  seed?: number;
  /** @default 5000 */
  tellerGoneAfterMs?: number;
  /** @default 1000 */
  prepareTimeoutMs?: number;
  /** What a prepare on a locked account does: wait its turn, or refuse at once. @default 'wound-wait' */
  lockPolicy?: LockPolicy;
  /** How long a prepare may wait for a lock under wound-wait. @default 250 */
  lockWaitTimeoutMs?: number;
  /** How long the end of the run may take to resolve every in-doubt transaction. @default 20000 */
  settleTimeoutMs?: number;
  /**
   * Run the shards on this many local agents — `convoy agent` processes, each standing for a host of its
   * own — over NATS; the tellers stay on this host. @default 0 (everything on this host)
   */
  agents?: number;
  /** With `agents`: the NATS server to use. @default one started for the run (needs `nats-server`) */
  natsUrl?: string;
  /**
   * With `agents`: SIGKILL one agent (its shards go with it) this many ms into the run, and start it
   * again once its host is seen down. @default half the run, when there is chaos (`chaosEveryMs` or `crashAtMs`)
   */
  agentKillAtMs?: number;
  /**
   * With `agents`: how long a worker or an agent may stay silent before it counts as dead. Short, so that a
   * killed agent is seen down within a short run; a loaded machine may need more. @default 2000
   */
  heartbeatTimeoutMs?: number;
  /** Serve the live dashboard for the run (see startCluster's `dashboard`). @default none */
  dashboard?: DashboardOptions | true;
  /** Called once the cluster has started, before any transfer (e.g. to print the dashboard's address). */
  onStart?: (cluster: Cluster) => void;
  /**
   * Ends the transfers early when aborted (Ctrl-C): no new transfer starts and no more faults are
   * injected, and the run settles and checks the books of what it did, as at its planned end.
   */
  signal?: AbortSignal;
  /** Called about every 250 ms while transfers run (e.g. to drive a progress bar). */
  onProgress?: (p: { elapsedMs: number; totalMs: number; results: number; deaths: number }) => void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Heartbeats with agents: a killed agent is seen down within 2 s (unless `heartbeatTimeoutMs` says otherwise). */
const AGENT_HEARTBEAT_INTERVAL_MS = 250;
const AGENT_HEARTBEAT_TIMEOUT_MS = 2000;

/** Resolves when `host` goes down, or after `ms` (a kill that went unseen must not stall the run). */
function hostDown(cluster: Cluster, host: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      cluster.off('host-down', onDown);
      resolve();
    };
    const onDown = (e: { name: string }): void => {
      if (e.name === host) done();
    };
    const timer = setTimeout(done, ms);
    cluster.on('host-down', onDown);
  });
}

/** Polls `probe` until it returns true, or gives up at `deadline` (performance.now() clock). */
async function until(probe: () => Promise<boolean>, deadline: number, everyMs = 20): Promise<boolean> {
  while (performance.now() < deadline) {
    if (await probe().catch(() => false)) return true;
    await sleep(everyMs);
  }
  return false;
}

/** The shards that still hold something at the end, as the report names them; '' for none. */
function unsettledShards(names: string[], status: { inDoubt: number; waiting: number }[]): string {
  return names
    .flatMap((name, i) => {
      const { inDoubt, waiting } = status[i]!;
      const what = [inDoubt > 0 ? `${inDoubt} in doubt` : '', waiting > 0 ? `${waiting} waiting for a lock` : ''].filter(Boolean);
      return what.length > 0 ? [`${name}: ${what.join(', ')}`] : [];
    })
    .join('; ');
}

/**
 * The end of a run, before the checker reads the logs: every worker back, every unacknowledged commit
 * re-sent, everything the tellers sent handled (a restarted shard gets what waited in the channels to it
 * only now), every doubt resolved, and no prepare left waiting for a lock (one of a dead teller could take
 * it, undecided, after the check). Tried until `timeoutMs` has passed; then says what was left.
 */
async function settleRun(
  cluster: Cluster,
  tellerNames: string[],
  shardNames: string[],
  down: ReadonlyMap<string, number>,
  timeoutMs: number,
): Promise<Settle> {
  const start = performance.now();
  const deadline = start + timeoutMs;
  let left = ''; // what the last attempt found unsettled
  const allBack = (): boolean => {
    left = down.size > 0 ? `${[...down.keys()].join(', ')} not back` : '';
    return down.size === 0;
  };
  const settled =
    (await until(async () => allBack(), deadline)) &&
    (await until(
      async () => {
        try {
          await Promise.all(tellerNames.map((n) => cluster.worker<TellerApi>(n).flush()));
          const st = await Promise.all(shardNames.map((n) => cluster.worker<ShardApi>(n).status()));
          // A worker that died meanwhile is back with what waited for it unhandled: flush again once it is.
          if (!allBack()) return false;
          left = unsettledShards(shardNames, st);
        } catch (e) {
          // A flush whose syncs failed, or a worker that died under the probe: say why, and try again.
          left = e instanceof Error ? e.message : String(e);
          return false;
        }
        return left === '';
      },
      deadline,
      100,
    ));
  const ms = performance.now() - start;
  return settled ? { ok: true, ms } : { ok: false, ms, timeoutMs, left };
}

export async function runBank(options: BankOptions = {}): Promise<Report> {
  const o = { seconds: 5, shards: 4, tellers: 2, concurrency: 16, batch: 200, kind: 'thread' as const, chaosEveryMs: 0, ...options };
  if (o.shards < 2) throw new RangeError(`Expected \`shards\` to be at least 2 (transfers cross shards), got ${o.shards}`);
  if (o.crashAtMs !== undefined && !(o.crashAtMs >= 0 && o.crashAtMs < o.seconds * 1000)) {
    throw new RangeError(`Expected \`crashAtMs\` to be within the run (0 to ${o.seconds * 1000} ms), got ${o.crashAtMs}`);
  }
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'convoy-bank-'));
  mkdirSync(dataDir, { recursive: true });
  if (readdirSync(dataDir).length > 0) throw new Error(`Expected \`dataDir\` to be empty, ${dataDir} is not`);
  // Only a directory made here is removed: one the caller named holds logs they asked for.
  const removeData = (): void => {
    if (o.dataDir === undefined && !o.keepData) rmSync(dataDir, { recursive: true, force: true });
    process.off('exit', removeData);
  };
  // Also if the process exits before the run ends (a second Ctrl-C quits at once).
  process.on('exit', removeData);
  const failed = (e: unknown): never => {
    removeData();
    throw e;
  };
  const cfg: BankConfig = {
    dataDir,
    shards: o.shards,
    accountsPerShard: o.accountsPerShard ?? 50,
    initialBalance: o.initialBalance ?? 1000,
    maxAmount: o.maxAmount ?? 300,
    seed: o.seed ?? 1,
    tellerGoneAfterMs: o.tellerGoneAfterMs ?? 5000,
    prepareTimeoutMs: o.prepareTimeoutMs ?? 1000,
    lockPolicy: o.lockPolicy ?? LOCK_DEFAULTS.policy,
    lockWaitTimeoutMs: o.lockWaitTimeoutMs ?? LOCK_DEFAULTS.waitTimeoutMs,
  };
  // Under tsx the workers load as .ts, from dist/ as .js: follow whatever this file is.
  const ext = extname(fileURLToPath(import.meta.url));
  // One spec per worker, so 'mixed' can alternate threads and processes under the usual names.
  const agents = o.agents ? await startLocalAgents(o.agents, o.natsUrl).catch(failed) : undefined;
  // With agents, shards take turns on their hosts and tellers stay here: every transfer crosses hosts.
  const hostOf = (role: 'shard' | 'teller', i: number): { host?: string } =>
    agents && role === 'shard' ? { host: agents.names[i % agents.names.length]! } : {};
  const specs = (role: 'shard' | 'teller', count: number): WorkerSpec[] =>
    Array.from({ length: count }, (_, i) => ({
      name: `${role}-${i}`,
      module: role === 'shard' && o.shardModule ? o.shardModule : new URL(`./${role}${ext}`, import.meta.url),
      kind: o.kind === 'mixed' ? (i % 2 === 0 ? ('thread' as const) : ('process' as const)) : o.kind,
      restart: 'on-failure' as const,
      maxRestarts: 1000, // chaos kills a lot; each one must come back
      data: cfg,
      ...hostOf(role, i),
    }));
  const workers = [...specs('shard', o.shards), ...specs('teller', o.tellers)];
  const heartbeatTimeoutMs = o.heartbeatTimeoutMs ?? AGENT_HEARTBEAT_TIMEOUT_MS;
  const hosts = agents ? { nats: agents.nats, heartbeatIntervalMs: AGENT_HEARTBEAT_INTERVAL_MS, heartbeatTimeoutMs } : {};
  const dashboard = o.dashboard ? { dashboard: o.dashboard } : {};
  const cluster = await startCluster({ workers, restartDelayMs: 20, ...hosts, ...dashboard }).catch(async (e: unknown) => {
    await agents?.close();
    return failed(e);
  });
  try {
    o.onStart?.(cluster);
  } catch (e) {
    // Before the run's own try: what it started is ended here, not left to the process's exit.
    await cluster.close();
    await agents?.close();
    return failed(e);
  }
  const agentKillAtMs = o.agentKillAtMs ?? (o.chaosEveryMs > 0 || o.crashAtMs !== undefined ? (o.seconds * 1000) / 2 : undefined);

  const t0 = performance.now();
  const deaths: Death[] = [];
  const recoveries: Recovery[] = [];
  const down = new Map<string, number>(); // name → time of death
  // Shards on an agent we killed: they die 'disconnected', which only this set tells from a fault of
  // ours. A worker we kill ourselves dies 'killed', whenever its exit comes (its host may be down).
  const lostWithAgent = new Set<string>();
  const agentKills: string[] = [];
  const hostByName = new Map(workers.map((spec) => [spec.name, spec.host]));
  let restarts = 0;
  const watchers: Promise<void>[] = [];
  cluster.on('worker-exit', (e) => {
    const at = performance.now();
    const ours = lostWithAgent.delete(e.name);
    const death: Death = { name: e.name, reason: e.reason, atMs: at - t0, chaos: ours || e.reason === 'killed' };
    if (e.error) death.error = `${e.error instanceof RemoteError ? e.error.remoteName : e.error.name}: ${e.error.message}`;
    deaths.push(death);
    if (e.restarting) down.set(e.name, at);
  });
  cluster.on('worker-restart', (e) => {
    restarts++;
    const diedAt = down.get(e.name) ?? performance.now();
    down.delete(e.name);
    const recovery: Recovery = { name: e.name, restartMs: performance.now() - diedAt };
    recoveries.push(recovery);
    // Recovered = log replayed and every doubt it left settled (shards), or old commits re-sent (tellers).
    const status = () => cluster.worker<ShardApi | TellerApi>(e.name).status();
    watchers.push(
      until(async () => (await status()).recovered, performance.now() + 30_000).then((ok) => {
        if (ok) recovery.recoveredMs = performance.now() - diedAt;
      }),
    );
  });

  try {
    const shardNames = cluster.names.filter((n) => n.startsWith('shard-'));
    const tellerNames = cluster.names.filter((n) => n.startsWith('teller-'));
    const totalMs = o.seconds * 1000;
    let stopAt = t0 + totalMs;
    const stopEarly = (): void => {
      stopAt = Math.min(stopAt, performance.now());
    };
    if (o.signal?.aborted) stopEarly();
    o.signal?.addEventListener('abort', stopEarly, { once: true });
    const results: TransferResult[] = [];

    const drive = async (name: string): Promise<void> => {
      const teller = cluster.worker<TellerApi>(name);
      while (performance.now() < stopAt) {
        const stopAtEpochMs = Math.round(Date.now() + (stopAt - performance.now()));
        try {
          results.push(...(await teller.run({ count: o.batch, concurrency: o.concurrency, stopAtEpochMs })));
        } catch (e) {
          if (!isWorkerDied(e)) throw e; // a bug, not a fault we injected
          await sleep(20); // the teller died with this batch; the call after waits for its restart
        }
      }
    };
    // A kill lands when its worker dies of it ('killed'); one already dying dies of what it was dying
    // of. Waited for a while only: the exit of a worker whose host is down comes once the host is seen down.
    const kill = (name: string): Promise<boolean> =>
      new Promise((resolve) => {
        const done = (died: boolean): void => {
          clearTimeout(timer);
          cluster.off('worker-exit', onExit);
          resolve(died);
        };
        const onExit = (e: { name: string; reason: string }): void => {
          if (e.name === name) done(e.reason === 'killed');
        };
        const timer = setTimeout(() => done(false), 5000);
        cluster.on('worker-exit', onExit);
        cluster.kill(name).catch(() => done(false));
      });
    const killAgent = async (): Promise<void> => {
      if (!agents || agentKillAtMs === undefined) return;
      // No agent is killed once the transfers have stopped early (Ctrl-C).
      if (!(await waitUnlessAborted(Math.max(0, t0 + agentKillAtMs - performance.now()), o.signal))) return;
      const victim = agents.names[cfg.seed % agents.names.length]!;
      // A shard still coming back from an earlier kill is restarting on the victim too, and dies with it:
      // left out of the set (a loaded full test run took 5 s to restart one), its 'disconnected' read as not ours.
      for (const name of shardNames) if (hostByName.get(name) === victim) lostWithAgent.add(name);
      const lost = hostDown(cluster, victim, heartbeatTimeoutMs * 5);
      await agents.kill(victim);
      await lost;
      agentKills.push(victim);
      agents.start(victim);
    };
    const chaos = (): Promise<void> =>
      injectFaults({
        targets: o.chaosTargets === 'shards' ? shardNames : o.chaosTargets === 'tellers' ? tellerNames : cluster.names,
        everyMs: o.chaosEveryMs,
        crashAtMs: o.crashAtMs,
        seed: cfg.seed,
        startedAt: t0,
        stopAt,
        ...(o.signal ? { signal: o.signal } : {}),
        isDown: (name) => down.has(name),
        kill,
      });
    const progress = setInterval(() => {
      o.onProgress?.({ elapsedMs: performance.now() - t0, totalMs, results: results.length, deaths: deaths.length });
    }, 250);
    try {
      await Promise.all([...tellerNames.map(drive), chaos(), killAgent()]);
    } finally {
      clearInterval(progress);
      o.signal?.removeEventListener('abort', stopEarly);
    }
    // The transfers ran until stopAt (or Ctrl-C); a teller's last batch may return well after it, once a
    // restart it waited for is done: that wait made no transfers, and would only lower the rate.
    const durationMs = Math.min(performance.now(), stopAt) - t0;
    const lastBatchMs = performance.now() - t0;

    const settle = await settleRun(cluster, tellerNames, shardNames, down, o.settleTimeoutMs ?? 20_000);
    await Promise.all(watchers);

    // The books: what the live shards hold, and what every log says (read after a sync, so complete).
    const shards = await Promise.all(
      shardNames.map(async (name) => {
        const remote = cluster.worker<ShardApi>(name);
        await remote.sync();
        const snap = await remote.snapshot();
        return { name, balances: snap.balances, locks: snap.locks, log: readWal<ShardRecord>(walPath(dataDir, name)).records };
      }),
    );
    const tellers = tellerNames.map((name) => ({ name, log: readWal<TellerRecord>(walPath(dataDir, name)).records }));
    const verdict = check({ opening: allOpeningBalances(cfg), shards, tellers });
    const locks = { policy: cfg.lockPolicy, waitTimeoutMs: cfg.lockWaitTimeoutMs };
    return buildReport({ durationMs, lastBatchMs, results, deaths, restarts, recoveries, verdict, locks, agentKills, settle });
  } finally {
    await cluster.close();
    await agents?.close();
    removeData();
  }
}
