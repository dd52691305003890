/**
 * Load failures of process workers: startCluster() rejects with an error naming the worker and carrying
 * the cause, and leaves nothing running. Serial, so the child processes seen belong to the test at hand.
 */
import test from 'ava';
import { cases, checkLoadFailure } from './helpers/load-failures.js';

for (const c of cases.filter((c) => c.kind === 'process')) {
  test.serial(`startCluster() rejects: ${c.title}; nothing is left running`, (t) => checkLoadFailure(t, c));
}
