/**
 * "A leaked worker or socket is a failure" : after every test of a file has torn down,
 * no socket, server, port or timer may be left open.
 */
import { syncBuiltinESMExports } from 'node:module';
import timers from 'node:timers';
import type { TestFn } from 'ava';
import { nextTurn } from './deadline.js';

/** Kinds of libuv resources a test of the core could leak (PipeWrap is ava's own IPC, so not listed). */
const LEAKABLE = /^(TCPSocketWrap|TCPServerWrap|TCPWrap|MessagePort|Timeout|Immediate)$/;

/**
 * How long closed handles get to be released before they count as leaked: the ports of terminated threads
 * and the sockets of exited processes go on their own schedule, which a loaded machine stretches.
 */
export const RELEASE_DEADLINE_MS = 3000;

/** Frames kept of where a timer was armed: enough to get past the timer helpers to their caller. */
const TIMER_STACK_FRAMES = 30;
/** Armed timers are swept of those that fired or were cleared once this many more were armed. */
const SWEEP_EVERY = 1000;

type TimerFunction = typeof setTimeout | typeof setInterval;

/**
 * Where each live timer of the process was armed, so a leaked one names its owner: `setTimeout` and
 * `setInterval` (global and `node:timers`) are wrapped to keep an Error made at arming (V8 keeps its
 * frames cheaply; they are formatted only for a timer still live at the check). An async_hooks init hook
 * would see every Timeout, but it runs for every promise too, which slows the awaited calls of the tests
 * (and so their timing) severalfold; timers armed through `node:timers/promises` are not named.
 */
class TimerOrigins {
  readonly #origins = new Map<NodeJS.Timeout, Error>();
  #armedSinceSweep = 0;

  constructor() {
    for (const name of ['setTimeout', 'setInterval'] as const) {
      const wrapped = this.#wrap(timers[name]);
      globalThis[name] = wrapped as never;
      timers[name] = wrapped as never;
    }
    syncBuiltinESMExports();
  }

  /** The arming stack of each timer that still holds the process open. */
  live(): string[] {
    const stacks: string[] = [];
    for (const [timer, origin] of this.#origins) {
      if (!isLive(timer)) continue;
      const frames = (origin.stack ?? '').split('\n').filter((line) => line.startsWith('    at ') && !OWN_FILE.test(line));
      stacks.push(`Timeout of ${(timer as unknown as { _idleTimeout: number })._idleTimeout} ms, armed\n${frames.join('\n')}`);
    }
    return stacks;
  }

  #wrap(original: TimerFunction): TimerFunction {
    const origins = this;
    function armed(this: unknown, ...args: Parameters<TimerFunction>): NodeJS.Timeout {
      const timer = Reflect.apply(original, this, args) as NodeJS.Timeout;
      origins.#note(timer);
      return timer;
    }
    // Keeps what the original carries besides its call, such as setTimeout's promisified form.
    Object.defineProperties(armed, Object.getOwnPropertyDescriptors(original));
    return armed as unknown as TimerFunction;
  }

  #note(timer: NodeJS.Timeout): void {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = TIMER_STACK_FRAMES;
    this.#origins.set(timer, new Error('armed'));
    Error.stackTraceLimit = limit;
    if (++this.#armedSinceSweep < SWEEP_EVERY) return;
    this.#armedSinceSweep = 0;
    for (const old of this.#origins.keys()) if (!isLive(old)) this.#origins.delete(old);
  }
}

/** This file: the wrapper's frames, above the caller that armed the timer, come from it. */
/** This file, compiled or (in a source-mapped stack) as written. */
const OWN_FILE = /\/test\/helpers\/leaks\.[jt]s:/;

/** Whether `timer` still holds the process open: not fired (once), not cleared, not unref'd. */
function isLive(timer: NodeJS.Timeout): boolean {
  return timer.hasRef() && !(timer as unknown as { _destroyed: boolean })._destroyed;
}

/**
 * Checks, once the file's `after.always` hooks registered before this call have finished, that nothing
 * is left open. Call it after the file's own cleanup hooks (and after `sharedHosts`): ava starts the
 * `after` hooks together, but a serial one only once every hook registered before it has ended, so a
 * cleanup that outlasts the release deadline (stopping processes on a loaded machine) is not judged
 * half-way through.
 */
export function failOnLeaks(test: TestFn): void {
  const origins = new TimerOrigins();
  test.serial.after.always('nothing left open: sockets, servers, ports, timers', async (t) => {
    // Handles closed during teardown release a turn or a few later (a MessagePort closed by the last
    // test to finish needs more than one): wait for them to go, within a deadline.
    const leaked = (): string[] => process.getActiveResourcesInfo().filter((kind) => LEAKABLE.test(kind));
    const deadline = performance.now() + RELEASE_DEADLINE_MS;
    while (leaked().length > 0 && performance.now() < deadline) await nextTurn();
    const left = leaked();
    if (left.includes('Timeout')) t.log(`Timers left, where each was armed:\n${origins.live().join('\n\n')}`);
    t.deepEqual(left, []);
  });
}

/**
 * Open libuv resources by kind, for comparing before and after, leaving out file-system requests (ava and
 * tsx read files at any time) and Immediates: a batch flushed at the end of the turn is one, gone a turn
 * later, so it cannot leak — one reading on a loaded machine caught two.
 */
export function openResources(list = process.getActiveResourcesInfo()): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of list) if (!kind.startsWith('FSReq') && kind !== 'Immediate') counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}
