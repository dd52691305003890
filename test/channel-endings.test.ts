/**
 * How calls end, both ways at once: each side runs a random script of calls and notifies to the other,
 * some calls with a small `timeoutMs`, some with an AbortSignal aborted at a random point (before the
 * call, right after it, after a microtask, a macrotask or a timer); handlers answer at once, after a
 * delay, or run longer than the timeouts, and some watch `currentCall().signal`. In some runs one side
 * ends in the middle of the script, while both sides have messages queued, waiting for room and in
 * flight: its endpoint gracefully (`close(error)`) or abruptly (`destroy(error)`), or only its channel
 * (`channel.close()`, graceful).
 *
 * Checks: every call settles, with its own reply or fault, `TimeoutError` (its own timeout), its own
 * signal's reason, or the error its endpoint closed with, and nothing else; a call aborted before it was
 * made rejects with the reason; a handler's signal aborts only when its caller gave up or its channel
 * closed, does abort when its channel closes, and the caller never sees what that handler then threw;
 * per direction, messages start exactly once and in issue order, a prefix of what was issued (all of it
 * when nothing ends, and everything accepted before a graceful close); the other side sees a graceful
 * close as ClusterClosedError; calls and notifies made after a side ended are refused at once (with the
 * error its endpoint closed with, or ClusterClosedError while its channel is closing); late replies to
 * cancelled calls are dropped without closing the channel; in the end no call is pending, no handler
 * signal active, nothing waits for room.
 *
 * To hunt harder, or replay a failure: ENDINGS_RUNS=2000 (runs per kind), ENDINGS_SEED=<seed fast-check printed>.
 */
import { isDeepStrictEqual } from 'node:util';
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import type { ChannelConfig } from '../src/channel/channel.js';
import { ClusterClosedError, RemoteError, TimeoutError } from '../src/errors.js';
import { currentCall } from '../src/rpc/call-context.js';
import type { Endpoint } from '../src/rpc/endpoint.js';
import { DEFAULTS } from '../src/options.js';
import { Counter, type Delay, type Outcome, deferred, nextTurn, outcome, pause, withDeadline } from './helpers/deadline.js';
import { type TransportVariant, settleAll, transportVariantArb, untilStalled, variantConfig } from './helpers/channel-scripts.js';
import { failOnLeaks } from './helpers/leaks.js';
import {
  PAYLOAD_KINDS,
  type PayloadKind,
  type Reply,
  ScriptedFault,
  expectedPayload,
  isAnswer,
  makePayload,
} from './helpers/mixed-payloads.js';
import { TRANSPORT_KINDS, type TransportKind, createPair, endpointClosed } from './helpers/pairs.js';

failOnLeaks(test);

/**
 * A run hangs when nothing moves for this long: no message sent or started, no call settled, no handler
 * timer set or done, on either side (handlers run 15 ms at most).
 */
const STALL_MS = 4000;
/** And a run that keeps moving but never ends (a livelock) fails after this long. */
const RUN_DEADLINE_MS = 60_000;
/** A failing property shrinks its case, a hang costing STALL_MS or more per attempt: ava must wait for it. */
const SHRINKING_TIMEOUT_MS = 10 * 60_000;

// --- scripts -------------------------------------------------------------------------------------

/** Where a call's signal is aborted: before the call is made, right after, or after a microtask, a macrotask or a timer. */
const ABORT_POINTS = ['before', 'sync', 'microtask', 'macrotask', 'timer'] as const;
type AbortPoint = (typeof ABORT_POINTS)[number];

/**
 * What a handler does: answers after a short delay, or runs for `ms` (longer than any timeout), maybe
 * watching its signal; or, for a call its caller will give up on (it has a timeout or a signal), holds
 * until its signal aborts, as the caller's cancel or the channel's close must make it.
 */
type Work =
  | { kind: 'quick'; delay: Delay; watches: boolean }
  | { kind: 'long'; ms: number; watches: boolean }
  | { kind: 'hold'; watches: true };

type Step =
  | {
      op: 'call';
      payload: PayloadKind;
      reply: Reply;
      work: Work;
      timeoutMs: number | null;
      abortAt: AbortPoint | null;
      awaited: boolean;
    }
  | { op: 'notify'; payload: PayloadKind; work: Work }
  | { op: 'await-turn' | 'await-microtask' | 'await-timer' };

/**
 * One side ends when its script reaches step `at`: its endpoint gracefully (`close`, which fails its
 * unsettled calls at once) or abruptly (`destroy`), or only its channel, gracefully (`channel-close`: its
 * calls still take the replies that arrive before the transport has closed).
 */
interface Ending {
  side: 'a' | 'b';
  at: number;
  how: 'close' | 'destroy' | 'channel-close';
}

/** Endings after which everything the ending side had accepted must still start on the other side. */
const GRACEFUL = new Set<Ending['how']>(['close', 'channel-close']);

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

const channelArb: fc.Arbitrary<ChannelConfig> = fc.record({
  maxBatchBytes: fc.oneof(fc.integer({ min: 1, max: 256 }), fc.integer({ min: 1, max: 16_384 })),
  flushDelayMs: fc.constantFrom(0, 0, 1, 3),
  // Small windows make messages wait for room, so an ending finds some waiting.
  maxQueuedBytes: fc.constantFrom(512, 8192, 16 << 20),
  maxInFlight: fc.constantFrom(1, 3, DEFAULTS.maxInFlight),
  backpressure: fc.constant('wait' as const),
});

// --- the two sides -------------------------------------------------------------------------------

type Args = [seq: number, kind: PayloadKind, payload: unknown, reply: Reply, work: Work];

/** The reason a script aborts call `seq` with: the caller must get this very object back. */
class CallAborted extends Error {
  constructor(readonly seq: number) {
    super(`script aborted call ${seq}`);
  }
}

/** What a handler throws when its signal aborts: the caller gave up on it, so must never see it. */
class HandlerAborted extends Error {
  override name = 'HandlerAborted';
}

/** How the calls of a property's runs ended, and how many handlers saw their signal abort: shows the paths were taken. */
function newTally() {
  return { reply: 0, fault: 0, timeout: 0, aborted: 0, ended: 0, handlerAborts: 0 };
}
type Tally = ReturnType<typeof newTally>;

class Side {
  endpoint!: Endpoint;
  peer!: Side;
  /** The error this side's endpoint closed with, once it has. */
  closedWith: Error | undefined;
  /** This side has ended its endpoint or its channel. */
  ended = false;
  sent = 0;
  /** Calls and notifies of ours that have settled. */
  settled = 0;
  /** Sequence numbers of the peer's messages, as their handlers start. */
  readonly started: number[] = [];
  /** Calls of ours that the caller gave up on (timeout or abort), by sequence number. */
  readonly gaveUp = new Set<number>();
  /** The peer's calls whose handler here saw its signal abort while this endpoint was open. */
  readonly abortedWhileOpen: number[] = [];
  readonly work: Promise<unknown>[] = [];
  readonly timers = new Set<NodeJS.Timeout>();
  /** Handlers holding until their signal aborts. */
  holding = 0;

  constructor(
    readonly name: 'a' | 'b',
    readonly problems: string[],
    readonly tally: Tally,
  ) {}

  issue(step: Step): void {
    if (step.op !== 'call' && step.op !== 'notify') return;
    const seq = this.sent++;
    const closedBefore = this.closedWith;
    // Made after this side ended: refused at once, and before the endpoint knows, with ClusterClosedError.
    const endedBefore = this.ended;
    const reply = step.op === 'call' ? step.reply : 'number';
    const args: Args = [seq, step.payload, makePayload(step.payload, seq), reply, step.work];
    if (step.op === 'notify') {
      this.#watch(seq, endedBefore || closedBefore !== undefined, outcome(this.endpoint.notify('note', args)), (result) =>
        this.#checkNotify(seq, result),
      );
      return;
    }
    const reason = new CallAborted(seq);
    const controller = step.abortAt === null ? undefined : new AbortController();
    if (step.abortAt === 'before') controller!.abort(reason);
    const options = {
      ...(step.timeoutMs === null ? {} : { timeoutMs: step.timeoutMs }),
      ...(controller ? { signal: controller.signal } : {}),
    };
    const called = outcome(this.endpoint.call('call', args, options));
    if (controller) this.#abortLater(controller, reason, step.abortAt!);
    this.#watch(seq, endedBefore || closedBefore !== undefined, called, (result) =>
      this.#checkCall(seq, step, reason, closedBefore, endedBefore, result),
    );
  }

  /** Runs `check` on the outcome; a message made on a closed endpoint must be refused before the next macrotask. */
  #watch(seq: number, refused: boolean, result: Promise<Outcome<unknown>>, check: (result: Outcome<unknown>) => void): void {
    let settled = false;
    const done = result.then((value) => {
      settled = true;
      this.settled++;
      check(value);
    });
    this.work.push(done);
    if (refused) {
      this.work.push(
        nextTurn().then(() => {
          if (!settled) this.problems.push(`${this.name}'s message ${seq}, made after its endpoint closed, was not refused at once`);
        }),
      );
    }
  }

  #abortLater(controller: AbortController, reason: CallAborted, at: AbortPoint): void {
    const abort = (): void => controller.abort(reason);
    if (at === 'sync') abort();
    else if (at === 'microtask') queueMicrotask(abort);
    else if (at === 'macrotask') this.work.push(nextTurn().then(abort));
    else if (at === 'timer') this.work.push(new Promise<void>((resolve) => setTimeout(resolve, 2)).then(abort));
  }

  #checkCall(
    seq: number,
    step: Extract<Step, { op: 'call' }>,
    reason: CallAborted,
    closedBefore: Error | undefined,
    endedBefore: boolean,
    result: Outcome<unknown>,
  ): void {
    const { error } = result.ok ? { error: undefined } : result;
    const wrong = (what: string): void => {
      this.problems.push(`${this.name}'s call ${seq} (${JSON.stringify(step)}) ${what}`);
    };
    if (closedBefore) {
      if (error !== closedBefore) wrong(`made after its endpoint closed got ${describe(result)}, not the close error`);
      this.tally.ended++;
      return;
    }
    if (endedBefore) {
      if (!(error instanceof ClusterClosedError)) wrong(`made after its channel closed got ${describe(result)}, not ClusterClosedError`);
      this.tally.ended++;
      return;
    }
    if (step.abortAt === 'before' && error !== reason) wrong(`aborted before it was made got ${describe(result)}, not its reason`);
    if (result.ok || error instanceof RemoteError) {
      if (error instanceof RemoteError && error.remoteName === 'HandlerAborted') wrong('got the fault its handler threw on abort');
      else if (!isAnswer(step.reply, seq, result)) wrong(`got ${describe(result)}, not its own ${step.reply}`);
      else this.tally[result.ok ? 'reply' : 'fault']++;
    } else if (error instanceof TimeoutError) {
      if (error.code !== 'ERR_CONVOY_TIMEOUT' || error.timeoutMs !== step.timeoutMs || error.method !== 'call')
        wrong(`got a timeout not its own: ${describe(result)}`);
      this.gaveUp.add(seq);
      this.tally.timeout++;
    } else if (error === reason) {
      this.gaveUp.add(seq);
      this.tally.aborted++;
    } else if (error === undefined || error !== this.closedWith) {
      wrong(
        `got ${describe(result)}, which is neither its answer, its timeout, its reason nor its endpoint's close error (${String(this.closedWith)})`,
      );
    } else this.tally.ended++;
  }

  #checkNotify(seq: number, result: Outcome<unknown>): void {
    if (result.ok) return;
    // Refused for good reason: the endpoint closed, or a graceful close refused it while it waited for room.
    if (result.error === this.closedWith) return;
    if (result.error instanceof ClusterClosedError && (this.closedWith || this.ended)) return;
    this.problems.push(`${this.name}'s notify ${seq} got ${describe(result)}`);
  }

  readonly api = {
    call: (...args: Args): unknown => this.#handle(args, true),
    note: (...args: Args): unknown => this.#handle(args, false),
  };

  #handle([seq, kind, payload, reply, work]: Args, isCall: boolean): unknown {
    this.started.push(seq);
    if (!isDeepStrictEqual(payload, expectedPayload(kind, seq))) {
      this.problems.push(
        `${this.name} got ${this.peer.name}'s message ${seq} with ${describe({ ok: true, value: payload })}, not its ${kind}`,
      );
    }
    // Read synchronously at the start, as a handler must; for a notify it is the endpoint's lifetime signal.
    const signal = work.watches ? currentCall().signal : undefined;
    const answer = (): unknown => {
      if (!isCall) return undefined;
      if (reply === 'fault') throw new ScriptedFault(seq);
      return makePayload(reply, seq);
    };
    if (work.kind === 'quick' && !signal) {
      const waiting = pause(work.delay);
      if (!waiting) return answer();
      // In `work`, as every handler still running is: the fences wait for its reply to be made.
      const answered = waiting.then(answer);
      this.work.push(answered.catch(() => {}));
      return answered;
    }
    const startedOpen = !this.endpoint.closed;
    const running = new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const timeUp = (): void => {
        this.timers.delete(timer!);
        signal?.removeEventListener('abort', onAbort);
        if (signal && startedOpen && this.endpoint.closed) {
          this.problems.push(
            `${this.name}'s handler of ${this.peer.name}'s message ${seq} ran on after its endpoint closed: its signal did not abort`,
          );
        }
        try {
          resolve(answer());
        } catch (error) {
          reject(error);
        }
      };
      const onAbort = (): void => {
        if (timer) {
          clearTimeout(timer);
          this.timers.delete(timer);
        } else this.holding--;
        this.tally.handlerAborts++;
        if (!this.closedWith && !this.endpoint.closed) this.abortedWhileOpen.push(isCall ? seq : -1 - seq);
        reject(new HandlerAborted(`${this.name}'s handler of ${seq} saw its signal abort`));
      };
      if (work.kind === 'hold') this.holding++;
      else this.timers.add((timer = setTimeout(timeUp, work.kind === 'long' ? work.ms : work.delay)));
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
    this.work.push(running.catch(() => {}));
    return running;
  }
}

function describe(result: Outcome<unknown>): string {
  const value = result.ok ? result.value : result.error;
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  const shown = text.length > 80 ? `${text.slice(0, 80)}…` : text;
  return result.ok ? `the reply ${shown}` : `the error ${shown}`;
}

/** What a side's ending saw: how many of its messages were accepted into its channel (not waiting for room). */
interface EndingSeen {
  accepted: number;
}

async function runScript(side: Side, script: Step[], ending: Ending | null, seen: EndingSeen): Promise<void> {
  const end = (): void => {
    seen.accepted = side.sent - side.endpoint.channel.waiting;
    side.ended = true;
    const error = new Error(`${side.name} ${ending!.how}s`);
    if (ending!.how === 'close') side.endpoint.close(error);
    else if (ending!.how === 'destroy') side.endpoint.destroy(error);
    else side.endpoint.channel.close();
  };
  for (const [i, step] of script.entries()) {
    if (ending?.side === side.name && ending.at === i) end();
    switch (step.op) {
      case 'await-turn':
        await nextTurn();
        break;
      case 'await-microtask':
        await Promise.resolve();
        break;
      case 'await-timer':
        await new Promise((resolve) => setTimeout(resolve, 1));
        break;
      default: {
        side.issue(step);
        if (step.op === 'call' && step.awaited) await side.work.at(-1);
      }
    }
  }
  if (ending?.side === side.name && ending.at >= script.length) end();
}

const FENCE: Step = {
  op: 'call',
  payload: 'number',
  reply: 'number',
  work: { kind: 'quick', delay: 0, watches: false },
  timeoutMs: null,
  abortAt: null,
  awaited: false,
};

function stateOf(side: Side): string {
  const { endpoint } = side;
  return (
    `${side.name}→${side.peer.name}: ${side.sent} sent, ${side.peer.started.length} started, ${side.settled} settled; ${side.name}: closed ${endpoint.closed}, ` +
    `${endpoint.pendingCalls} calls pending, ${endpoint.activeSignals} signals, ${endpoint.channel.waiting} waiting for room, ${side.timers.size} handler timers, ${side.holding} handlers holding`
  );
}

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
  const seen: EndingSeen = { accepted: -1 };
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
      await untilStalled(everything(), () => `${stateOf(a)}\n${stateOf(b)}`, `${kind} scripts`, {
        stallMs: STALL_MS,
        deadlineMs: RUN_DEADLINE_MS,
      });
    } catch (error) {
      problems.push(String(error));
      return problems;
    }
    for (const side of [a, b]) {
      const { started, peer } = side;
      const wrong = started.findIndex((seq, i) => seq !== i);
      const mustStart = !ending ? peer.sent : GRACEFUL.has(ending.how) && ending.side === peer.name ? seen.accepted : 0;
      if (wrong >= 0 || started.length < mustStart) {
        problems.push(
          `${peer.name}→${side.name}: ${peer.sent} sent, ${mustStart} must start, ${started.length} started, first out of order at ${wrong}: ${JSON.stringify(started.slice(Math.max(0, wrong - 5), wrong + 5))}`,
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

const NUM_RUNS: Record<TransportKind, number> = { memory: 100, port: 60, shm: 60, tcp: 50, nats: 25 };
const runsOverride = process.env.ENDINGS_RUNS === undefined ? undefined : Number(process.env.ENDINGS_RUNS);
const seed = process.env.ENDINGS_SEED === undefined ? undefined : Number(process.env.ENDINGS_SEED);

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: both sides call with timeouts and abort signals, one side may close or destroy mid-script: every call settles once with its own outcome, order holds, nothing hangs or leaks (fast-check)`, async (t) => {
    t.timeout(SHRINKING_TIMEOUT_MS);
    const tally = newTally();
    await fc.assert(
      fc.asyncProperty(
        transportVariantArb(kind),
        fc.record({ a: channelArb, b: channelArb }),
        fc.record({ a: scriptArb, b: scriptArb }),
        endingArb,
        async (transport, options, scripts, ending) => {
          const problems = await runBoth(t, kind, transport, options, scripts, ending, tally);
          if (problems.length > 0) throw new Error(problems.slice(0, 10).join('\n'));
        },
      ),
      { numRuns: runsOverride ?? NUM_RUNS[kind], includeErrorInReport: true, ...(seed === undefined ? {} : { seed }) },
    );
    t.log(
      Object.entries(tally)
        .map(([key, value]) => `${key} ${value}`)
        .join(', '),
    );
    t.pass();
  });
}

// --- a case the property found, pinned ------------------------------------------------------------

/** Enough bytes of notifies that the closing side is still sending them when the reply comes back. */
const BIG_NOTIFIES = 32;
const BIG_NOTIFY_BYTES = 128 * 1024;

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: a reply that reaches a closing endpoint after close() failed its call is dropped, and everything accepted before the close still arrives`, async (t) => {
    const handled = new Counter();
    const release = deferred();
    const api = {
      // Answers once the first notify after it has started: by then the caller has closed.
      answerLater: () => release.promise.then(() => 'late'),
      note() {
        release.resolve();
        handled.add();
      },
    };
    const roomy = { maxQueuedBytes: 64 << 20, maxFrameBytes: 64 << 20 };
    const { a, b } = await createPair(t, kind, { channel: roomy, b: { api } });
    const call = outcome(a.call('answerLater', []));
    for (let i = 0; i < BIG_NOTIFIES; i++) await a.notify('note', ['n'.repeat(BIG_NOTIFY_BYTES)]);
    const peerClosed = endpointClosed(b, 10_000);
    const reason = new ClusterClosedError('a is done');
    a.close(reason);
    const result = await withDeadline(call, 5000, 'the call fails with the close');
    t.true(!result.ok && result.error === reason);
    await handled.reach(BIG_NOTIFIES, 10_000, 'every notify accepted before the close handled');
    const peerError = await peerClosed;
    t.true(peerError instanceof ClusterClosedError, `b saw the close as ${String(peerError)}`);
  });
}
