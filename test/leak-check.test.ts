/**
 * The leak check itself: it judges what the file left open once the file's own cleanup has finished.
 * A cleanup registered before it (shared servers and agents, stopped after the last test) may take longer
 * than the check's release deadline, as stopping processes does on a loaded machine: what it holds open
 * while it runs is not a leak.
 */
import test from 'ava';
import { RELEASE_DEADLINE_MS, failOnLeaks } from './helpers/leaks.js';

/** A cleanup as slow as waiting out an exit on a loaded machine: it holds a timer past the deadline. */
const SLOW_CLEANUP_MS = 2 * RELEASE_DEADLINE_MS;

let cleanedUp = false;

test.after.always('a slow cleanup, registered before the leak check', async () => {
  await new Promise((resolve) => setTimeout(resolve, SLOW_CLEANUP_MS));
  cleanedUp = true;
});
failOnLeaks(test);

test('the file has a test, so its hooks run', (t) => {
  t.false(cleanedUp);
});
