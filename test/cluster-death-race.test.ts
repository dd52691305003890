/**
 * A worker's call to a peer that is being ended, made the moment its call in flight failed: it asks for a
 * new channel while the coordinator has not yet handled the peer's end. Such a channel used to be handed
 * to the thread that was gone, whose port never closes, and the call waited forever (seen in ~5% of runs
 * under load). It must settle, at once, as a call to a dead worker: not sent, with the death's reason.
 */
import test from 'ava';
import type { CallOutcome, Counter } from './fixtures/counter.js';
import { fixture, startFor, within } from './helpers/cluster.js';

const ROUNDS = 6;
/** Detection (heartbeatTimeoutMs 1500: a healthy worker beside the hung one must not go that long unheard) and the calls' failure. */
const SETTLE_MS = 10_000;
interface Race {
  first: CallOutcome;
  second?: CallOutcome;
  secondMs?: number;
}

for (const how of ['kill', 'heartbeat'] as const) {
  test.serial(`${how}: a call to a thread made as its call in flight fails settles at once, not sent (${ROUNDS} rounds)`, async (t) => {
    for (let round = 0; round < ROUNDS; round++) {
      const cluster = await startFor(t, {
        ...(how === 'heartbeat' ? { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 1500 } : {}),
        workers: [
          { name: 'c', module: fixture('counter.ts') },
          { name: 'v', module: fixture('counter.ts') },
        ],
      });
      const c = cluster.worker<Counter>('c');
      // The pair's channel opens first, so the race is about a second one.
      t.true((await c.tryCall('v', 'inc', [0])).outcome.ok);
      const id = await c.startAgainAfterFailure('v', 'hang', 'inc');
      if (how === 'kill') await cluster.kill('v');
      const result = await within(c.callResult(id), SETTLE_MS, `round ${round}: both calls settle`);
      const race = (result as { value: Race }).value;
      t.false(race.first.ok, `round ${round}: the call in flight fails`);
      t.like(
        race.second,
        { ok: false, name: 'WorkerDiedError', worker: 'v', reason: how === 'kill' ? 'killed' : 'heartbeat', mayHaveRun: false },
        `round ${round}`,
      );
      t.true(race.secondMs! < 1000, `round ${round}: the second call failed in ${race.secondMs!.toFixed(0)} ms`);
      await cluster.close();
    }
  });
}

for (const kind of ['thread', 'process'] as const) {
  for (const how of ['kill', 'heartbeat'] as const) {
    test.serial(
      `${how}: a worker's call in flight to a ${kind} that convoy ends fails with the death's reason, not disconnected`,
      async (t) => {
        const cluster = await startFor(t, {
          ...(how === 'heartbeat' ? { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 1500 } : {}),
          workers: [
            { name: 'c', module: fixture('counter.ts') },
            { name: 'v', module: fixture('counter.ts'), kind },
          ],
        });
        const c = cluster.worker<Counter>('c');
        t.true((await c.tryCall('v', 'inc', [0])).outcome.ok);
        const id = await c.startCall('v', 'hang', []);
        if (how === 'kill') await cluster.kill('v');
        const outcome = await within(c.callResult(id), SETTLE_MS, 'the call in flight fails');
        t.like(outcome, {
          ok: false,
          name: 'WorkerDiedError',
          worker: 'v',
          reason: how === 'kill' ? 'killed' : 'heartbeat',
          mayHaveRun: true,
        });
      },
    );
  }
}
