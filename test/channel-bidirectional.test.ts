/**
 * Per-pair FIFO both ways at once: each side runs a random script of calls and notifies to the other
 * while the other does the same, handlers call and notify back (at once, after a microtask, a macrotask
 * or a timer, returning before or after what they sent settles), and payloads mix plain values (value
 * frames on a MessagePort) with values that must be encoded (large, deep, Maps, class instances,
 * transferred buffers), so replies, acks and new calls share frames in both directions. Per direction,
 * every message starts exactly once in issue order, every call gets its own reply, and nothing hangs.
 *
 * To hunt harder, or replay a failure: BIDI_RUNS=2000 (runs per kind), BIDI_SEED=<seed fast-check printed>.
 */
import { isDeepStrictEqual } from 'node:util';
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import type { ChannelConfig } from '../src/channel/channel.js';
import { DEFAULTS } from '../src/options.js';
import type { Endpoint } from '../src/rpc/endpoint.js';
import {
  ROOMY_QUEUED_BYTES,
  SHRINKING_TIMEOUT_MS,
  type TransportVariant,
  type WaitStep,
  channelConfigArb,
  runParameters,
  settleAll,
  transportVariantArb,
  untilStalled,
  variantConfig,
  waitOf,
} from './helpers/channel-scripts.js';
import { type Delay, outcome, pause } from './helpers/deadline.js';
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
import { TRANSPORT_KINDS, createPair, type TransportKind } from './helpers/pairs.js';

failOnLeaks(test);

const payloadArb = fc.constantFrom<PayloadKind>(...PAYLOAD_KINDS);
const replyArb = fc.constantFrom<Reply>(...PAYLOAD_KINDS, 'fault');

// --- scripts -------------------------------------------------------------------------------------

/** What a handler sends back to the other side: when, and whether it returns only once that settled. */
interface Back {
  kind: 'call' | 'notify';
  when: Delay;
  payload: PayloadKind;
  reply: Reply;
  /** The handler returns (and its frame is acked) only once the call's reply came, or the notify was accepted. */
  settleFirst: boolean;
}

/** One step of a side's script. */
type Step =
  | { op: 'call' | 'notify'; payload: PayloadKind; reply: Reply; delay: Delay; back: Back | null; awaited: boolean }
  | { op: 'burst'; payload: PayloadKind; count: number }
  | { op: 'await-last' | Exclude<WaitStep, 'await-timer'> };

const backArb: fc.Arbitrary<Back | null> = fc.option(
  fc.record({
    kind: fc.constantFrom('call' as const, 'notify' as const),
    when: fc.constantFrom<Delay>(0, 1, 2, 3),
    payload: payloadArb,
    reply: replyArb,
    settleFirst: fc.boolean(),
  }),
  { freq: 2 },
);

const sendArb = (op: 'call' | 'notify'): fc.Arbitrary<Step> =>
  fc.record({
    op: fc.constant(op),
    payload: payloadArb,
    reply: replyArb,
    delay: fc.constantFrom<Delay>(0, 0, 1, 2, 3),
    back: backArb,
    // One in four is awaited at once.
    awaited: fc.constantFrom(true, false, false, false),
  });

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: sendArb('call') },
  { weight: 5, arbitrary: sendArb('notify') },
  // Many notifies in one go, as a producer sends: frames many at once, fill a small ring.
  { weight: 1, arbitrary: fc.record({ op: fc.constant('burst' as const), payload: payloadArb, count: fc.integer({ min: 2, max: 40 }) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'await-last' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'await-turn' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'await-microtask' as const }) },
);

// Any length up to the maximum, not fast-check's default bias towards a few steps.
const scriptArb = fc.array(stepArb, { minLength: 1, maxLength: 60, size: 'max' });

// --- the two sides -------------------------------------------------------------------------------

/** The arguments of every message: its sequence number in its direction, its payload, and what its handler does. */
type Args = [seq: number, kind: PayloadKind, payload: unknown, reply: Reply, delay: Delay, back: Back | null];

class Side {
  endpoint!: Endpoint;
  peer!: Side;
  /** Messages issued to the peer so far: the next one's sequence number. */
  sent = 0;
  /** Sequence numbers of the peer's messages, as their handlers start. */
  readonly started: number[] = [];
  /** Everything this side is still doing: its calls, accepted notifies, and handlers that send back. */
  readonly work: Promise<unknown>[] = [];

  constructor(
    readonly name: 'a' | 'b',
    /** Whether a handler may wait for what it sent back before returning (see ROOMY_QUEUED_BYTES). */
    readonly mayHold: boolean,
    readonly problems: string[],
  ) {}

  /** Sends one call or notify to the peer; the promise settles when the reply came (checked) or the notify was accepted. */
  issue(kind: 'call' | 'notify', payload: PayloadKind, reply: Reply, delay: Delay, back: Back | null): Promise<unknown> {
    const seq = this.sent++;
    const args: Args = [seq, payload, makePayload(payload, seq), reply, delay, back];
    const done =
      kind === 'call'
        ? outcome(this.endpoint.call('call', args)).then((result) => {
            if (!isAnswer(reply, seq, result)) {
              const got = result.ok ? `the reply ${describe(result.value)}` : `the error ${describe(result.error)}`;
              this.problems.push(`${this.name}'s call ${seq} got ${got}, not its ${reply}`);
            }
          })
        : this.endpoint.notify('note', args);
    this.work.push(done);
    return done;
  }

  readonly api = {
    call: (...args: Args): unknown => this.#handle(args, true),
    note: (...args: Args): unknown => this.#handle(args, false),
  };

  #handle([seq, kind, payload, reply, delay, back]: Args, isCall: boolean): unknown {
    this.started.push(seq);
    if (!isDeepStrictEqual(payload, expectedPayload(kind, seq))) {
      this.problems.push(`${this.name} got ${this.peer.name}'s message ${seq} with ${describe(payload)}, not its ${kind}`);
    }
    const answer = (): unknown => {
      if (!isCall) return undefined;
      if (reply === 'fault') throw new ScriptedFault(seq);
      return makePayload(reply, seq);
    };
    const sentBack = back && this.#sendBack(back);
    const holds = sentBack && back.settleFirst && this.mayHold;
    const waiting = pause(delay);
    if (!holds && !waiting) return answer();
    return Promise.all([waiting, holds ? sentBack : undefined]).then(answer);
  }

  /** Sends `back` to the peer now or after its delay; resolves when it settled. */
  #sendBack(back: Back): Promise<unknown> {
    const send = (): Promise<unknown> => this.issue(back.kind, back.payload, back.reply, 0, null);
    const waiting = pause(back.when);
    const task = waiting ? waiting.then(send) : send();
    this.work.push(task);
    return task;
  }
}

function stateOf(side: Side): string {
  const { channel } = side.endpoint;
  return (
    `${side.name}→${side.peer.name}: ${side.sent} sent, ${side.peer.started.length} started; ${side.name}: ` +
    `${side.endpoint.pendingCalls} calls pending, ${channel.inFlight} in flight, ${channel.queuedBytes} bytes queued, ` +
    `${channel.windowBytes} unacked, ${channel.waiting} waiting for room`
  );
}

function describe(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

async function runScript(side: Side, script: Step[]): Promise<void> {
  let last: Promise<unknown> | undefined;
  for (const step of script) {
    switch (step.op) {
      case 'await-last':
        await last;
        break;
      case 'await-turn':
      case 'await-microtask':
        await waitOf(step.op);
        break;
      case 'burst':
        for (let i = 0; i < step.count; i++) side.issue('notify', step.payload, 'number', 0, null);
        break;
      default: {
        const done = side.issue(step.op, step.payload, step.reply, step.delay, step.back);
        if (step.op === 'call') last = done;
        if (step.awaited) await done;
      }
    }
  }
}

/**
 * Runs both scripts at once over a fresh pair, then lets everything they set off finish, and returns
 * what went wrong (empty: every message of each direction started once, in issue order, with its payload,
 * and every call got its own reply).
 */
async function runBoth(
  t: ExecutionContext,
  kind: TransportKind,
  transport: TransportVariant,
  options: { a: ChannelConfig; b: ChannelConfig },
  scripts: { a: Step[]; b: Step[] },
): Promise<string[]> {
  const problems: string[] = [];
  // A handler may hold its frame's ack until what it sent back settles only if neither side ever waits
  // for room: otherwise two such handlers, one each side, can wait on each other by design.
  const roomy = [options.a, options.b].every(
    (side) => side.maxQueuedBytes === ROOMY_QUEUED_BYTES && side.maxInFlight === DEFAULTS.maxInFlight,
  );
  const a = new Side('a', roomy, problems);
  const b = new Side('b', roomy, problems);
  a.peer = b;
  b.peer = a;
  const pair = await createPair(t, kind, {
    channelA: options.a,
    channelB: options.b,
    a: { api: a.api },
    b: { api: b.api },
    ...variantConfig(transport),
  });
  a.endpoint = pair.a;
  b.endpoint = pair.b;
  try {
    const everything = async (): Promise<void> => {
      await Promise.all([runScript(a, scripts.a), runScript(b, scripts.b)]);
      // Two fences each way: the first one's reply means every message of the scripts has started (so
      // every handler that sends back has registered its work); the second, every message sent back.
      for (let fence = 0; fence < 2; fence++) {
        a.issue('call', 'number', 'number', 0, null);
        b.issue('call', 'number', 'number', 0, null);
        await settleAll([a.work, b.work]);
      }
    };
    // A hang is nothing moving: no message sent, started, queued, acked or answered on either side.
    await untilStalled(everything(), () => `${stateOf(a)}\n${stateOf(b)}`, `${kind} scripts`);
    for (const side of [a, b]) {
      const { started, peer } = side;
      const wrong = started.findIndex((seq, i) => seq !== i);
      if (wrong >= 0 || started.length !== peer.sent) {
        problems.push(
          `${peer.name}→${side.name}: ${peer.sent} sent, ${started.length} started, first out of order at ${wrong}: ${JSON.stringify(started.slice(Math.max(0, wrong - 5), wrong + 5))}`,
        );
      }
    }
    return problems;
  } finally {
    pair.destroy();
  }
}

const sidesArbs = [fc.record({ a: channelConfigArb, b: channelConfigArb }), fc.record({ a: scriptArb, b: scriptArb })] as const;

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: both sides call and notify each other at once, handlers send back, payloads mixed: order, replies, no hang (fast-check)`, async (t) => {
    t.timeout(SHRINKING_TIMEOUT_MS);
    await fc.assert(
      fc.asyncProperty(transportVariantArb(kind), ...sidesArbs, async (transport, options, scripts) => {
        const problems = await runBoth(t, kind, transport, options, scripts);
        // Thrown, not logged: fast-check reports the error of the shrunk case only.
        if (problems.length > 0) throw new Error(problems.slice(0, 10).join('\n'));
      }),
      {
        ...runParameters('BIDI', kind),
        // The report says what went wrong (order, a reply, a hang and where), not only that something did.
        includeErrorInReport: true,
      },
    );
    t.pass();
  });
}
