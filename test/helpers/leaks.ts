/**
 * "A leaked worker or socket is a failure" (STYLE "Tests"): after every test of a file has torn down,
 * no socket, server, port or timer may be left open.
 */
import type { TestFn } from 'ava';
import { nextTurn } from './deadline.js';

/** Kinds of libuv resources a test of the core could leak (PipeWrap is ava's own IPC, so not listed). */
const LEAKABLE = /^(TCPSocketWrap|TCPServerWrap|TCPWrap|MessagePort|Timeout|Immediate)$/;

export function failOnLeaks(test: TestFn): void {
  test.after.always('nothing left open: sockets, servers, ports, timers', async (t) => {
    // Handles closed during teardown release on the next turn of the loop.
    await nextTurn();
    const leaked = process.getActiveResourcesInfo().filter((kind) => LEAKABLE.test(kind));
    t.deepEqual(leaked, []);
  });
}
