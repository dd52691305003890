/**
 * How calls end, both ways at once: each side runs a random script of calls and notifies to the other,
 * some calls with a small `timeoutMs`, some with an AbortSignal aborted at a random point (before the
 * call, right after it, after a microtask, a macrotask or a timer); handlers answer at once, after a
 * delay, or run longer than the timeouts, and some watch `currentCall().signal`; a call that has a timeout
 * or a signal may have a handler that holds until its signal aborts, so a cancel that never reaches it
 * is a hang. In some runs one side
 * ends in the middle of the script, while both sides have messages queued, waiting for room and in
 * flight: its endpoint gracefully (`close(error)`) or abruptly (`destroy(error)`), or only its channel
 * (`channel.close()`, graceful).
 *
 * Checks: every call settles, with its own reply or fault, `TimeoutError` (its own timeout), its own
 * signal's reason, or the error its endpoint closed with, and nothing else; a call aborted before it was
 * made rejects with the reason; a handler's signal aborts only when its caller gave up or its channel
 * closed, does abort when its channel closes, and the caller never sees what that handler then threw;
 * per direction, messages start at most once and in issue order, a prefix of what was issued (all of it
 * when nothing ends, and everything accepted before a graceful close), less the calls given up on before
 * they were sent (aborted before they were made, or while they waited for room), which never start; the other side sees a graceful
 * close as ClusterClosedError; calls and notifies made after a side ended are refused at once (with the
 * error its endpoint closed with, or ClusterClosedError while its channel is closing); late replies to
 * cancelled calls are dropped without closing the channel; in the end no call is pending, no handler
 * signal active, nothing waits for room.
 *
 * To hunt harder, or replay a failure: ENDINGS_RUNS=2000 (runs per kind), ENDINGS_SEED=<seed fast-check printed>.
 */
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import type { ChannelConfig } from '../src/channel/channel.js';
import { ClusterClosedError } from '../src/errors.js';
import {
  SHRINKING_TIMEOUT_MS,
  type TransportVariant,
  channelConfigArb,
  runParameters,
  settleAll,
  transportVariantArb,
  untilStalled,
  variantConfig,
} from './helpers/channel-scripts.js';
import type { Delay } from './helpers/deadline.js';
import {
  ABORT_POINTS,
  type AbortPoint,
  type Ending,
  type EndingSeen,
  FENCE,
  GRACEFUL,
  Side,
  type Step,
  type Tally,
  type Work,
  newTally,
  runScript,
  stateOf,
} from './helpers/ending-side.js';
import { failOnLeaks } from './helpers/leaks.js';
import { PAYLOAD_KINDS, type Reply } from './helpers/mixed-payloads.js';
import { TRANSPORT_KINDS, type TransportKind, createPair } from './helpers/pairs.js';

failOnLeaks(test);

// --- scripts -------------------------------------------------------------------------------------

const workArb: fc.Arbitrary<Work> = fc.oneof(
  fc.record({ kind: fc.constant('quick' as const), delay: fc.constantFrom<Delay>(0, 1, 2, 3), watches: fc.boolean() }),
  fc.record({ kind: fc.constant('long' as const), ms: fc.integer({ min: 6, max: 15 }), watches: fc.boolean() }),
);

const callArb: fc.Arbitrary<Step> = fc
  .record({
    op: fc.constant('call' as const),
    payload: fc.constantFrom(...PAYLOAD_KINDS),
    reply: fc.constantFrom<Reply>(...PAYLOAD_KINDS, 'fault'),
    work: fc.oneof({ weight: 3, arbitrary: workArb }, { weight: 1, arbitrary: fc.constant<Work>({ kind: 'hold', watches: true }) }),
    timeoutMs: fc.option(fc.integer({ min: 1, max: 5 }), { freq: 2 }) as fc.Arbitrary<number | null>,
    abortAt: fc.option(fc.constantFrom(...ABORT_POINTS), { freq: 2 }) as fc.Arbitrary<AbortPoint | null>,
    awaited: fc.constantFrom(true, false, false, false),
  })
  // Only a call its caller gives up on can hold: nothing else would end it.
  .map((step) =>
    step.work.kind === 'hold' && step.timeoutMs === null && step.abortAt === null
      ? { ...step, work: { kind: 'long' as const, ms: 6, watches: true } }
      : step,
  );

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: callArb },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('notify' as const), payload: fc.constantFrom(...PAYLOAD_KINDS), work: workArb }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom({ op: 'await-turn' as const }, { op: 'await-microtask' as const }, { op: 'await-timer' as const }),
  },
);

const MAX_STEPS = 40;
const scriptArb = fc.array(stepArb, { minLength: 1, maxLength: MAX_STEPS, size: 'max' });

const endingArb: fc.Arbitrary<Ending | null> = fc.option(
  fc.record({
    side: fc.constantFrom('a' as const, 'b' as const),
    at: fc.nat(MAX_STEPS),
    how: fc.constantFrom('close' as const, 'destroy' as const, 'channel-close' as const),
  }),
  { freq: 3 },
);

// --- the property ------------------------------------------------------------------------------

/**
 * Runs both scripts at once over a fresh pair, one side ending as `ending` says, then lets everything
 * they set off finish, and returns what went wrong (empty: nothing).
 */
async function runBoth(
  t: ExecutionContext,
  kind: TransportKind,
  transport: TransportVariant,
  options: { a: ChannelConfig; b: ChannelConfig },
  scripts: { a: Step[]; b: Step[] },
  ending: Ending | null,
  tally: Tally,
): Promise<string[]> {
  const problems: string[] = [];
  const a = new Side('a', problems, tally);
  const b = new Side('b', problems, tally);
  a.peer = b;
  b.peer = a;
  // A notify's handler that sees the close abort its signal throws: expected, not worth a warning.
  const pair = await createPair(t, kind, {
    channelA: options.a,
    channelB: options.b,
    a: { api: a.api, onNotifyError: () => {} },
    b: { api: b.api, onNotifyError: () => {} },
    ...variantConfig(transport),
  });
  a.endpoint = pair.a;
  b.endpoint = pair.b;
  const closed = [a, b].map(
    (side) => new Promise<void>((resolve) => side.endpoint.onClose((error) => resolve(void (side.closedWith = error)))),
  );
  const seen: EndingSeen = { accepted: new Set() };
  try {
    const everything = async (): Promise<void> => {
      await Promise.all([runScript(a, scripts.a, ending, seen), runScript(b, scripts.b, ending, seen)]);
      await settleAll([a.work, b.work]);
      if (ending) {
        // The other side learns of the end by itself: its transport closes.
        await Promise.all(closed);
        await settleAll([a.work, b.work]);
        return;
      }
      // Two fences each way. The first one's reply means every message of the scripts has started, so
      // every handler is in `work`, and settling waits until each has made its reply, late or not. Replies
      // arrive in the order they are made: once the second fence is back, every late reply to a cancelled
      // call has arrived (and been dropped).
      for (let fence = 0; fence < 2; fence++) {
        for (const side of [a, b]) side.issue(FENCE);
        await settleAll([a.work, b.work]);
      }
    };
    try {
      // A hang is nothing moving: no message sent or started, no call settled, no handler started or done,
      // on either side (handlers run 15 ms at most, or until their signal aborts).
      await untilStalled(everything(), () => `${stateOf(a)}\n${stateOf(b)}`, `${kind} scripts`);
    } catch (error) {
      problems.push(String(error));
      return problems;
    }
    for (const side of [a, b]) {
      const { started, peer } = side;
      // In issue order, each once, with no gap: only a call never sent may be missing (aborted before it was
      // made, or given up on after it had to wait for room, which may have taken it back from the wait).
      const wrong = started.findIndex((seq, i) => i > 0 && seq <= started[i - 1]!);
      const mayBeMissing = (seq: number): boolean => peer.neverSent.has(seq) || (peer.gaveUp.has(seq) && peer.waited.includes(seq));
      const all = Array.from({ length: peer.sent }, (_, seq) => seq);
      const inChannel = !ending ? all : GRACEFUL.has(ending.how) && ending.side === peer.name ? [...seen.accepted] : [];
      // Everything that must have started: what was in the channel (all of it when nothing ended), and
      // whatever came before a message that did start.
      const lastStarted = started.length > 0 ? started[started.length - 1]! : -1;
      const mustStart = all.filter((seq) => (seq < lastStarted || inChannel.includes(seq)) && !mayBeMissing(seq));
      const startedSet = new Set(started);
      const missing = mustStart.filter((seq) => !startedSet.has(seq));
      if (wrong >= 0 || missing.length > 0) {
        problems.push(
          `${peer.name}→${side.name}: ${peer.sent} sent, ${mustStart.length} must start, ${started.length} started, missing ${JSON.stringify(missing.slice(0, 10))}, first out of order at ${wrong}: ${JSON.stringify(started.slice(Math.max(0, wrong - 5), wrong + 5))}`,
        );
      }
      for (const seq of side.abortedWhileOpen) {
        if (!peer.gaveUp.has(seq))
          problems.push(
            `${side.name}'s handler of ${peer.name}'s message ${seq} saw its signal abort, but its caller did not give up on it`,
          );
      }
      const { endpoint } = side;
      if (
        endpoint.pendingCalls > 0 ||
        endpoint.activeSignals > 0 ||
        endpoint.channel.waiting > 0 ||
        side.timers.size > 0 ||
        side.holding > 0
      ) {
        problems.push(`left behind: ${stateOf(side)}`);
      }
      if (!ending && endpoint.closed) problems.push(`${side.name} closed with ${String(side.closedWith)} though nothing ended it`);
      if (ending?.how === 'channel-close' && ending.side === side.name && !(side.closedWith instanceof ClusterClosedError)) {
        problems.push(`${side.name} closed its channel and saw it as ${String(side.closedWith)}, not ClusterClosedError`);
      }
      if (ending && GRACEFUL.has(ending.how) && ending.side === peer.name && !(side.closedWith instanceof ClusterClosedError)) {
        problems.push(`${side.name} saw ${peer.name}'s graceful close as ${String(side.closedWith)}, not ClusterClosedError`);
      }
    }
    return problems;
  } finally {
    pair.destroy();
  }
}

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: both sides call with timeouts and abort signals, one side may close or destroy mid-script: every call settles once with its own outcome, order holds, nothing hangs or leaks (fast-check)`, async (t) => {
    t.timeout(SHRINKING_TIMEOUT_MS);
    const tally = newTally();
    await fc.assert(
      fc.asyncProperty(
        transportVariantArb(kind),
        fc.record({ a: channelConfigArb, b: channelConfigArb }),
        fc.record({ a: scriptArb, b: scriptArb }),
        endingArb,
        async (transport, options, scripts, ending) => {
          const problems = await runBoth(t, kind, transport, options, scripts, ending, tally);
          if (problems.length > 0) throw new Error(problems.slice(0, 10).join('\n'));
        },
      ),
      { ...runParameters('ENDINGS', kind), includeErrorInReport: true },
    );
    t.log(
      Object.entries(tally)
        .map(([key, value]) => `${key} ${value}`)
        .join(', '),
    );
    t.pass();
  });
}
