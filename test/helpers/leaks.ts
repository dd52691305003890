/**
 * "A leaked worker or socket is a failure" : after every test of a file has torn down,
 * no socket, server, port or timer may be left open.
 */
import type { TestFn } from 'ava';
import { nextTurn } from './deadline.js';

/** Kinds of libuv resources a test of the core could leak (PipeWrap is ava's own IPC, so not listed). */
const LEAKABLE = /^(TCPSocketWrap|TCPServerWrap|TCPWrap|MessagePort|Timeout|Immediate)$/;

/** How long closed handles get to be released before they count as leaked. */
const RELEASE_DEADLINE_MS = 1000;

export function failOnLeaks(test: TestFn): void {
  test.after.always('nothing left open: sockets, servers, ports, timers', async (t) => {
    // Handles closed during teardown release a turn or a few later (a MessagePort closed by the last
    // test to finish needs more than one): wait for them to go, within a deadline.
    const leaked = (): string[] => process.getActiveResourcesInfo().filter((kind) => LEAKABLE.test(kind));
    const deadline = performance.now() + RELEASE_DEADLINE_MS;
    while (leaked().length > 0 && performance.now() < deadline) await nextTurn();
    t.deepEqual(leaked(), []);
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
