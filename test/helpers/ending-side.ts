/**
 * The two sides of the channel-endings property: scripts of calls (with timeouts and abort signals) and
 * notifies, how one side ends, and a Side that runs its script against the other's handlers and checks
 * every outcome as it comes (what each may be is said at the top of test/channel-endings.test.ts).
 */
import { isDeepStrictEqual } from 'node:util';
import { ClusterClosedError, RemoteError, TimeoutError } from '../../src/errors.js';
import { currentCall } from '../../src/rpc/call-context.js';
import type { Endpoint } from '../../src/rpc/endpoint.js';
import { type WaitStep, waitOf } from './channel-scripts.js';
import { type Delay, type Outcome, nextTurn, outcome, pause } from './deadline.js';
import { type PayloadKind, type Reply, ScriptedFault, expectedPayload, isAnswer, makePayload } from './mixed-payloads.js';

/** Where a call's signal is aborted: before the call is made, right after, or after a microtask, a macrotask or a timer. */
export const ABORT_POINTS = ['before', 'sync', 'microtask', 'macrotask', 'timer'] as const;
export type AbortPoint = (typeof ABORT_POINTS)[number];

/**
 * What a handler does: answers after a short delay, or runs for `ms` (longer than any timeout), maybe
 * watching its signal; or, for a call its caller will give up on (it has a timeout or a signal), holds
 * until its signal aborts, as the caller's cancel or the channel's close must make it.
 */
export type Work =
  | { kind: 'quick'; delay: Delay; watches: boolean }
  | { kind: 'long'; ms: number; watches: boolean }
  | { kind: 'hold'; watches: true };

export type Step =
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
  | { op: WaitStep };

/**
 * One side ends when its script reaches step `at`: its endpoint gracefully (`close`, which fails its
 * unsettled calls at once) or abruptly (`destroy`), or only its channel, gracefully (`channel-close`: its
 * calls still take the replies that arrive before the transport has closed).
 */
export interface Ending {
  side: 'a' | 'b';
  at: number;
  how: 'close' | 'destroy' | 'channel-close';
}

/** Endings after which everything the ending side had accepted must still start on the other side. */
export const GRACEFUL = new Set<Ending['how']>(['close', 'channel-close']);

// --- a side -------------------------------------------------------------------------------------

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
export function newTally() {
  return { reply: 0, fault: 0, timeout: 0, aborted: 0, ended: 0, handlerAborts: 0 };
}
export type Tally = ReturnType<typeof newTally>;

export class Side {
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
  /** Calls of ours whose signal the script has aborted (by then, or soon, in gaveUp). */
  readonly aborted = new Set<number>();
  /** Calls of ours aborted before they were made: never sent. */
  readonly neverSent = new Set<number>();
  /** Messages of ours that had to wait for room when they were made, in order. */
  readonly waited: number[] = [];
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
    const waitingBefore = this.endpoint.channel.waiting;
    if (step.op === 'notify') {
      this.#watch(seq, endedBefore || closedBefore !== undefined, outcome(this.endpoint.notify('note', args)), (result) =>
        this.#checkNotify(seq, result),
      );
      if (this.endpoint.channel.waiting > waitingBefore) this.waited.push(seq);
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
    if (step.abortAt === 'before') this.neverSent.add(seq);
    else if (this.endpoint.channel.waiting > waitingBefore) this.waited.push(seq);
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
    const abort = (): void => {
      // Known at once: the call's own rejection, which puts it in gaveUp, is seen a microtask later.
      this.aborted.add(reason.seq);
      controller.abort(reason);
    };
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
    // The signal's reason first, whatever else would refuse the call.
    if (step.abortAt === 'before') {
      if (error !== reason) wrong(`aborted before it was made got ${describe(result)}, not its reason`);
      this.gaveUp.add(seq);
      this.tally.aborted++;
      return;
    }
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

/** What a side's ending saw: which of its messages were in its channel then (sent, or queued to leave). */
export interface EndingSeen {
  accepted: Set<number>;
}

export async function runScript(side: Side, script: Step[], ending: Ending | null, seen: EndingSeen): Promise<void> {
  const end = (): void => {
    // Still waiting for room: the last so many of those that waited, less the calls given up on (taken
    // back from the wait, or released from it before their caller gave up: either way not waiting).
    const waiting = side.endpoint.channel.waiting;
    const given = (seq: number): boolean => side.gaveUp.has(seq) || side.aborted.has(seq);
    const stillWaiting = new Set(waiting > 0 ? side.waited.filter((seq) => !given(seq)).slice(-waiting) : []);
    seen.accepted = new Set(
      Array.from({ length: side.sent }, (_, seq) => seq).filter((seq) => !side.neverSent.has(seq) && !stillWaiting.has(seq)),
    );
    side.ended = true;
    const error = new Error(`${side.name} ${ending!.how}s`);
    if (ending!.how === 'close') side.endpoint.close(error);
    else if (ending!.how === 'destroy') side.endpoint.destroy(error);
    else side.endpoint.channel.close();
  };
  for (const [i, step] of script.entries()) {
    if (ending?.side === side.name && ending.at === i) end();
    if (step.op === 'call' || step.op === 'notify') {
      side.issue(step);
      if (step.op === 'call' && step.awaited) await side.work.at(-1);
    } else {
      await waitOf(step.op);
    }
  }
  if (ending?.side === side.name && ending.at >= script.length) end();
}

export const FENCE: Step = {
  op: 'call',
  payload: 'number',
  reply: 'number',
  work: { kind: 'quick', delay: 0, watches: false },
  timeoutMs: null,
  abortAt: null,
  awaited: false,
};

export function stateOf(side: Side): string {
  const { endpoint } = side;
  return (
    `${side.name}→${side.peer.name}: ${side.sent} sent, ${side.peer.started.length} started, ${side.settled} settled; ${side.name}: closed ${endpoint.closed}, ` +
    `${endpoint.pendingCalls} calls pending, ${endpoint.activeSignals} signals, ${endpoint.channel.waiting} waiting for room, ${side.timers.size} handler timers, ${side.holding} handlers holding`
  );
}
