/**
 * One death scenario, run the same way for every cause: a victim `v` and a peer `w` in a fresh cluster;
 * calls in flight to `v` from the coordinator and from `w`; then `v` dies; then every promise the
 * contract makes about death is checked (docs/semantics.md §5).
 */
import type { ExecutionContext } from 'ava';
import { WorkerDiedError, type Cluster, type ClusterOptions, type DeathReason, type Remote } from '../../src/index.js';
import type { CallOutcome, Counter } from '../fixtures/counter.js';
import { exitLog, fixture, rejection, settle, startFor, within } from './cluster.js';

export interface DeathScenario {
  victim: 'thread' | 'process';
  peer: 'thread' | 'process';
  options?: Partial<ClusterOptions>;
  /** Makes `v` die. Called synchronously right after a call to `v` was queued in the same turn. */
  trigger(ctx: { cluster: Cluster; v: Remote<Counter>; pid: number }): Promise<unknown>;
  /** How the trigger's own promise settles: a call that dies with the worker, or anything (external). */
  triggerDies: boolean;
  reason: DeathReason;
  exitCode?: number;
  signal?: string;
  /**
   * The message of the uncaught error `v` crashes with: the exit event carries it, and every failure
   * that says `crash` names it.
   */
  uncaught?: string;
  /** The call queued in the same turn as the trigger must fail (it cannot have been answered). */
  queuedMustFail: boolean;
  /** From the trigger to the death being seen everywhere. */
  deathMs: number;
}

/**
 * A later call must fail without touching the wire: allow only scheduling noise, which on a loaded machine
 * (a garbage collection, a process descheduled) reaches hundreds of ms; a call that waited on the wire
 * would take the death's whole detection (DEATH_MS).
 */
const AT_ONCE_MS = 1000;
const LONG_SLEEP_MS = 60_000;

function assertDied(t: ExecutionContext, error: unknown, reason: DeathReason | undefined, what: string, uncaught?: string): void {
  t.true(error instanceof WorkerDiedError, `${what}: WorkerDiedError, got ${String(error)}`);
  const e = error as WorkerDiedError;
  t.is(e.code, 'ERR_CONVOY_WORKER_DIED', what);
  t.is(e.worker, 'v', what);
  if (reason) t.is(e.reason, reason, what);
  if (uncaught !== undefined && e.reason === 'crash') {
    t.true(e.message.includes(`, uncaught Error: ${uncaught}`), `${what} names the uncaught error: ${e.message}`);
    t.is((e.cause as Error | undefined)?.message, uncaught, `${what}: the uncaught error is the cause`);
  }
}

function assertOutcomeDied(
  t: ExecutionContext,
  outcome: CallOutcome,
  reason: DeathReason | undefined,
  what: string,
  uncaught?: string,
): void {
  t.false(outcome.ok, `${what}: rejected`);
  if (outcome.ok) return;
  t.is(outcome.name, 'WorkerDiedError', what);
  t.is(outcome.code, 'ERR_CONVOY_WORKER_DIED', what);
  t.is(outcome.worker, 'v', what);
  if (reason) t.is(outcome.reason, reason, what);
  if (uncaught !== undefined && outcome.reason === 'crash') {
    t.true(outcome.message.includes(`, uncaught Error: ${uncaught}`), `${what} names the uncaught error: ${outcome.message}`);
  }
}

export async function runDeathScenario(t: ExecutionContext, s: DeathScenario): Promise<void> {
  const cluster = await startFor(t, {
    ...s.options,
    workers: [
      { name: 'v', module: fixture('counter.ts'), kind: s.victim },
      { name: 'w', module: fixture('counter.ts'), kind: s.peer },
    ],
  });
  const log = exitLog(cluster);
  const v = cluster.worker<Counter>('v');
  const w = cluster.worker<Counter>('w');
  const pid = await v.pid();

  // In flight from the coordinator: sent and started (the barrier call after them is answered).
  const fromCoordinator = [settle(v.sleep(LONG_SLEEP_MS)), settle(v.sleep(LONG_SLEEP_MS))];
  await v.inc(0);
  // In flight from the peer, over the direct w → v channel; again behind an answered barrier.
  const peerCall = await w.startCall('v', 'sleep', [LONG_SLEEP_MS]);
  t.like(await w.tryCall('v', 'inc', [0]), { outcome: { ok: true } }, 'barrier w → v');

  const started = performance.now();
  const queued = settle(v.inc(1));
  const trigger = settle(s.trigger({ cluster, v, pid }));

  const exit = await log.nth('v', 1, s.deathMs);
  t.log(`worker-exit ${(performance.now() - started).toFixed(0)} ms after the trigger`);
  t.like(exit, { name: 'v', reason: s.reason, incarnation: 0, restarting: false }, 'worker-exit event');
  t.is(exit.exitCode, s.exitCode, 'worker-exit exitCode');
  t.is(exit.signal, s.signal, 'worker-exit signal');
  t.is(exit.error?.message, s.uncaught, 'worker-exit error');

  for (const [i, call] of fromCoordinator.entries()) {
    const result = await within(call, s.deathMs, `coordinator call ${i} in flight`);
    t.false(result.ok, `coordinator call ${i} rejected`);
    // A thread's port (a process's socket) may close before its exit is known: the coordinator's calls
    // wait for the exit then, and carry the death's own reason and signal, never `disconnected`.
    if (!result.ok) assertDied(t, result.error, undefined, `coordinator call ${i} in flight`, s.uncaught);
    if (!result.ok) {
      const { reason, signal } = result.error as WorkerDiedError;
      t.is(reason, s.reason, `reason of in-flight call ${i}`);
      t.is(signal, s.signal, `signal of in-flight call ${i}`);
    }
    t.true(result.at - started < s.deathMs, `coordinator call ${i} rejected ${(result.at - started).toFixed(0)} ms after the trigger`);
  }
  const triggerResult = await within(trigger, s.deathMs, 'the trigger');
  if (s.triggerDies) {
    t.false(triggerResult.ok, 'the call that killed the worker rejected');
    if (!triggerResult.ok) assertDied(t, triggerResult.error, undefined, 'the call that killed the worker');
  }
  const queuedResult = await within(queued, s.deathMs, 'call queued with the trigger');
  if (s.queuedMustFail || !queuedResult.ok) {
    t.false(queuedResult.ok, 'call queued with the trigger rejected');
    if (!queuedResult.ok) assertDied(t, queuedResult.error, undefined, 'call queued with the trigger', s.uncaught);
  }

  const peerOutcome = await within(w.callResult(peerCall), s.deathMs, "peer's call in flight to v");
  // As the coordinator's: its channel to v may close before the word of v's death reaches it, with no last
  // words (a SIGKILL) or with them lost to a reset connection; the call waits for the word then, and carries
  // the death's reason and signal, never `disconnected`.
  assertOutcomeDied(t, peerOutcome, s.reason, "peer's call in flight", s.uncaught);
  if (!peerOutcome.ok) t.is(peerOutcome.signal, s.signal, "signal of the peer's call in flight");

  // Later calls fail at once, with the same death.
  const later = performance.now();
  assertDied(t, await rejection(v.inc(1), AT_ONCE_MS, 'a later coordinator call'), s.reason, 'a later coordinator call', s.uncaught);
  t.true(performance.now() - later < AT_ONCE_MS);
  const peerExit = await within(w.waitPeerExit('v'), s.deathMs, "w's peer-exit event for v");
  t.like(peerExit, { name: 'v', reason: s.reason, restarting: false }, 'peer-exit event');
  t.deepEqual(
    peerExit.error,
    s.uncaught === undefined ? undefined : { class: 'RemoteError', message: s.uncaught, remoteName: 'Error', data: {} },
    'peer-exit error',
  );
  const laterFromPeer = await w.tryCall('v', 'inc', [1]);
  assertOutcomeDied(t, laterFromPeer.outcome, s.reason, 'a later call from the peer');
  t.true(laterFromPeer.ms < AT_ONCE_MS, `a later call from the peer failed in ${laterFromPeer.ms.toFixed(1)} ms`);

  // The survivor keeps working, for the coordinator and as a caller.
  t.is(await w.inc(2), 2);
  t.deepEqual(await w.peers(), ['v']);
  t.like(await cluster.stats(), {
    workers: [
      { name: 'v', state: 'dead' },
      { name: 'w', state: 'ready' },
    ],
  });
  if (s.victim === 'process') t.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, 'the victim process is gone');

  // Exactly one exit event for v, and one peer-exit seen by w.
  t.is(log.events.filter((e) => e.name === 'v').length, 1, 'worker-exit fired once');
  t.is(log.events.length, 1, 'no other worker exited');
  t.is((await w.peerExits()).length, 1, 'w saw one peer-exit');
}
