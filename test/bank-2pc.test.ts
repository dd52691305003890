// Two-phase commit end to end without the runtime: shards and tellers in one process, joined by fake
// channels with convoy's semantics (per-pair FIFO start order, batches per turn, calls to a dead
// incarnation reject with ERR_CONVOY_WORKER_DIED), real WAL files, and crash/restart by rebuilding
// a worker from its log. The checker judges every run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { check } from '../examples/bank/checker.js';
import {
  allOpeningBalances,
  createRng,
  isTeller,
  openingBalances,
  pickTransfer,
  shardName,
  walPath,
  type BankConfig,
  type ShardRecord,
  type TellerRecord,
} from '../examples/bank/config.js';
import { InDoubtResolver } from '../examples/bank/in-doubt.js';
import { ShardState } from '../examples/bank/shard-state.js';
import { driveTransfers, Teller, type ShardPort, type TransferResult } from '../examples/bank/teller-state.js';
import { openWal, readWal, type Wal } from '../examples/bank/wal.js';
import { withDeadline } from './helpers/deadline.js';

// biome-ignore lint/suspicious/noExplicitAny: handlers of every shape
type Api = Record<string, (...args: any[]) => unknown>;
const died = (name: string) => Object.assign(new Error(`${name} died`), { code: 'ERR_CONVOY_WORKER_DIED' });

/** One sender→receiver channel between two incarnations: FIFO start order, delivered once per turn. */
class Link {
  #queue: (() => void)[] = [];
  #pending = new Set<(e: Error) => void>();
  #scheduled = false;
  dead = false;
  constructor(
    readonly to: string,
    readonly api: Api,
  ) {}

  // biome-ignore lint/suspicious/noExplicitAny: stands in for Remote<T>, whose results are typed by the caller
  call(method: string, args: unknown[]): Promise<any> {
    if (this.dead) return Promise.reject(died(this.to));
    return new Promise((resolve, reject) => {
      this.#pending.add(reject);
      const settle = (fn: () => void) => this.#pending.delete(reject) && fn(); // replies die with the link
      this.#push(() => {
        try {
          Promise.resolve(this.api[method]!(...args)).then(
            (v) => settle(() => resolve(v)),
            (e) => settle(() => reject(e)),
          );
        } catch (e) {
          settle(() => reject(e));
        }
      });
    });
  }

  notify(method: string, args: unknown[]): Promise<void> {
    if (this.dead) return Promise.reject(died(this.to));
    this.#push(() => {
      try {
        Promise.resolve(this.api[method]!(...args)).catch(() => {});
      } catch {}
    });
    return Promise.resolve();
  }

  kill(): void {
    this.dead = true;
    this.#queue = []; // sent but undelivered: lost with the worker
    for (const reject of this.#pending) reject(died(this.to));
    this.#pending.clear();
  }

  #push(deliver: () => void): void {
    this.#queue.push(deliver);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      const batch = this.#queue;
      this.#queue = [];
      for (const d of batch) if (!this.dead) d(); // handlers *start* in send order
    });
  }
}

interface Incarnation {
  id: number;
  api: Api;
  wal: Wal<unknown>;
  abort: AbortController;
  links: Set<Link>;
  teller?: Teller;
  shard?: ShardState;
  resolver?: InDoubtResolver;
}

/** The cluster runtime's role, in-process: spawn, mesh, kill, restart, peer-exit. */
class FakeBank {
  live = new Map<string, Incarnation>();
  /** Killed incarnations whose last write may still land: each is gone when its promise settles. */
  #dying = new Map<string, Promise<void>>();
  #links = new Map<string, Link>();
  #ids = 0;
  constructor(
    readonly cfg: BankConfig,
    readonly tellers: string[],
  ) {}

  get shards(): string[] {
    return Array.from({ length: this.cfg.shards }, (_, i) => shardName(i));
  }

  link(from: Incarnation, to: string): Link {
    const target = this.live.get(to);
    if (!target || from.abort.signal.aborted) return deadLink(to);
    const key = `${from.id}->${to}`;
    let l = this.#links.get(key);
    if (!l || l.dead || l.api !== target.api) {
      this.#links.set(key, (l = new Link(to, target.api)));
      from.links.add(l);
      target.links.add(l);
    }
    return l;
  }

  start(name: string): void {
    if (this.live.has(name)) return; // one incarnation at a time, as the runtime guarantees
    // The runtime restarts a worker after its exit, and a killed process's last write lands before that.
    if (this.#dying.has(name)) throw new Error(`${name} started before its killed incarnation was gone`);
    const { wal, replay } = openWal<unknown>(walPath(this.cfg.dataDir, name));
    const me: Incarnation = { id: ++this.#ids, api: {}, wal, abort: new AbortController(), links: new Set() };
    if (isTeller(name)) {
      const port = (shard: string): ShardPort => ({
        prepare: (r) => this.link(me, shard).call('prepare', [r]),
        sync: () => this.link(me, shard).call('sync', []),
        commit: (id) => this.link(me, shard).notify('commit', [id]),
        abort: (id) => this.link(me, shard).notify('abort', [id]),
      });
      const teller = (me.teller = new Teller({ name, wal, records: replay.records as TellerRecord[], port }));
      me.api = { outcome: (id: string) => teller.outcome(id) };
      this.live.set(name, me);
      void teller.resend().catch(() => {});
    } else {
      const shard = (me.shard = new ShardState({
        name,
        wal,
        records: replay.records as ShardRecord[],
        opening: openingBalances(this.cfg, name),
        locks: { policy: this.cfg.lockPolicy, waitTimeoutMs: this.cfg.lockWaitTimeoutMs },
      }));
      me.resolver = new InDoubtResolver(shard, {
        ask: (teller, txId) => this.link(me, teller).call('outcome', [txId]),
        readTellerLog: (teller) => readWal<TellerRecord>(walPath(this.cfg.dataDir, teller)).records,
        goneAfterMs: this.cfg.tellerGoneAfterMs,
        retryMs: 5,
        signal: me.abort.signal,
      });
      me.api = {
        prepare: (r) => shard.prepare(r),
        commit: (id) => shard.commit(id),
        abort: (id) => shard.abort(id),
        sync: () => shard.sync(),
      };
      this.live.set(name, me);
      void me.resolver.resolveAll();
      me.resolver.startSweep(200);
    }
  }

  /** SIGKILL: unflushed log records, queued messages and pending replies are lost. */
  kill(name: string): void {
    const me = this.live.get(name);
    if (!me) return;
    this.live.delete(name);
    me.abort.abort();
    const gone = me.wal.crash().then(() => void this.#dying.delete(name));
    this.#dying.set(name, gone);
    for (const l of me.links) l.kill();
    // peer-exit: live shards ask about what the dead teller left them prepared.
    if (isTeller(name)) for (const s of this.live.values()) void s.resolver?.resolve(name);
  }

  /** Starts `name` again once its killed incarnation is gone, as the runtime's restart does after the exit. */
  async restart(name: string): Promise<void> {
    await this.#dying.get(name);
    this.start(name);
  }

  /**
   * Restarts whatever is down, then re-sends the tellers' commits until no shard holds a lock without a
   * decision and no prepare waits for one: a waiting prepare of a dead teller can still take its lock,
   * undecided, for the resolver's sweep to settle. Throws, naming what is left, after `deadlineMs`.
   */
  async settle(deadlineMs = 30_000): Promise<void> {
    await Promise.all([...this.shards, ...this.tellers].map((name) => this.restart(name)));
    const until = performance.now() + deadlineMs;
    for (;;) {
      await Promise.all(this.tellers.map((n) => this.live.get(n)!.teller!.resend()));
      const open = this.shards.flatMap((n) => {
        const shard = this.live.get(n)!.shard!;
        const waiting = shard.waiting > 0 ? [`${n}: ${shard.waiting} waiting for a lock`] : [];
        return [...shard.inDoubt().map(({ txId }) => `${n}: ${txId} in doubt`), ...waiting];
      });
      if (open.length === 0) {
        // Decisions apply in memory as their records are appended; the checker reads the logs on disk.
        await Promise.all([...this.live.values()].map((me) => me.wal.flushed()));
        return;
      }
      if (performance.now() > until) throw new Error(`Not settled after ${deadlineMs} ms: ${open.join('; ')}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  verdict() {
    return check({
      opening: allOpeningBalances(this.cfg),
      shards: this.shards.map((name) => ({
        ...this.live.get(name)!.shard!.snapshot(),
        log: readWal<ShardRecord>(walPath(this.cfg.dataDir, name)).records,
      })),
      tellers: this.tellers.map((name) => ({ name, log: readWal<TellerRecord>(walPath(this.cfg.dataDir, name)).records })),
    });
  }

  async close(): Promise<void> {
    for (const me of this.live.values()) {
      me.abort.abort();
      await me.wal.close();
    }
  }
}

const deadLink = (to: string): Link => Object.assign(new Link(to, {}), { dead: true });

function setup(t: { teardown(fn: () => unknown): void }, over: Partial<BankConfig> = {}, tellers = 2): FakeBank {
  const dataDir = mkdtempSync(join(tmpdir(), 'bank-2pc-'));
  const cfg: BankConfig = {
    dataDir,
    shards: 3,
    accountsPerShard: 4,
    initialBalance: 100,
    maxAmount: 60,
    seed: 7,
    tellerGoneAfterMs: 60_000,
    prepareTimeoutMs: 0,
    lockPolicy: 'wound-wait',
    lockWaitTimeoutMs: 250,
    ...over,
  };
  const bank = new FakeBank(
    cfg,
    Array.from({ length: tellers }, (_, i) => `teller-${i}`),
  );
  for (const n of [...bank.shards, ...bank.tellers]) bank.start(n);
  t.teardown(async () => {
    await bank.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return bank;
}

for (const lockPolicy of ['wound-wait', 'no-wait'] as const) {
  test(`${lockPolicy}: concurrent transfers from two tellers keep the total and commit exactly once on both sides`, async (t) => {
    const bank = setup(t, { accountsPerShard: 10, maxAmount: 40, lockPolicy });
    const rng = createRng(bank.cfg.seed);
    const results = (
      await Promise.all(
        bank.tellers.map((n) =>
          driveTransfers(bank.live.get(n)!.teller!, { count: 300, concurrency: 4, next: () => pickTransfer(bank.cfg, rng) }),
        ),
      )
    ).flat();
    await bank.settle();
    const verdict = bank.verdict();
    t.deepEqual(verdict.violations, []);
    t.true(verdict.ok);
    t.is(verdict.totals.finalTotal, verdict.totals.openingTotal);
    const committed = results.filter((r) => r.outcome === 'committed').length;
    t.is(verdict.totals.committed, committed);
    const causes: Record<string, number> = {};
    for (const r of results) if (r.cause) causes[r.cause] = (causes[r.cause] ?? 0) + 1;
    const waited = results.filter((r) => r.lockWaitMs !== undefined).length;
    t.log(`committed=${committed} waited=${waited}`, causes);
    t.true(committed > 200, `only ${committed} committed`);
    if (lockPolicy === 'no-wait') {
      t.true((causes.locked ?? 0) > 0, 'contention produced lock conflicts');
      t.is(waited, 0);
    } else t.true(waited > 0, 'contention made prepares wait for locks');
    t.true((causes.funds ?? 0) > 0, 'small balances produced overdraft refusals');
    for (const n of bank.tellers) t.is(bank.live.get(n)!.teller!.stats().unacked, 0);
  });

  test(`${lockPolicy}: random SIGKILLs of shards and tellers: after recovery the checker finds nothing`, async (t) => {
    const bank = setup(t, { seed: 11, accountsPerShard: 10, maxAmount: 40, lockPolicy });
    const rng = createRng(99);
    const stopAt = Date.now() + 1500;
    const results: TransferResult[] = [];
    const drive = async (name: string): Promise<void> => {
      while (Date.now() < stopAt) {
        const me = bank.live.get(name);
        if (!me) {
          await new Promise((r) => setTimeout(r, 5));
          continue;
        }
        const next = () => pickTransfer(bank.cfg, rng);
        results.push(...(await driveTransfers(me.teller!, { count: 20, concurrency: 6, next }).catch(() => [])));
      }
    };
    let kills = 0;
    const chaos = (async () => {
      while (Date.now() < stopAt - 200) {
        await new Promise((r) => setTimeout(r, 20 + rng() * 60));
        const all = [...bank.shards, ...bank.tellers];
        const victim = all[Math.floor(rng() * all.length)]!;
        bank.kill(victim);
        kills++;
        setTimeout(() => void bank.restart(victim), 10 + rng() * 80); // the runtime's restart: 'on-failure'
      }
    })();
    // With a deadline: its timer also keeps this process's event loop alive while a prepare waits for a
    // lock whose holder only the resolver's sweep (an unref'd timer, as in a worker) will decide.
    await withDeadline(Promise.all([chaos, ...bank.tellers.map(drive)]), 60_000, 'transfers under chaos');
    await withDeadline(bank.settle(), 60_000, 'recovery');
    const verdict = bank.verdict();
    t.deepEqual(verdict.violations, []);
    t.is(verdict.totals.inDoubt, 0);
    t.true(kills >= 5, `only ${kills} kills`);
    t.true(verdict.totals.committed > 0);
    t.log(`kills=${kills} committed=${verdict.totals.committed} aborted=${verdict.totals.aborted} reported=${results.length}`);
  });
}

test('a teller killed between logging commit and sending it: the shards still commit (pull and re-send)', async (t) => {
  const bank = setup(t, {}, 1);
  const teller = bank.live.get('teller-0')!.teller!;
  const wal = bank.live.get('teller-0')!.wal as Wal<TellerRecord>;
  // Kill the teller right after its commit record is durable, before the decision is sent.
  const append = wal.append.bind(wal);
  wal.append = (r: TellerRecord) => {
    const p = append(r);
    if (r.t === 'commit') void p.then(() => bank.kill('teller-0'));
    return p;
  };
  await teller.transfer({ from: 's0a0', to: 's1a0', amount: 10 }).catch(() => {});
  const held = bank.shards.flatMap((n) => bank.live.get(n)!.shard!.inDoubt());
  t.is(held.length, 2, 'both shards hold the lock for the dead teller');
  await bank.restart('teller-0');
  await bank.settle();
  const verdict = bank.verdict();
  t.deepEqual(verdict.violations, []);
  t.is(verdict.totals.committed, 1);
  t.is(bank.live.get('shard-1')!.shard!.snapshot().balances.s1a0, 110);
});
