// Every interleaved suite, in table order. Add a suite here (see bench/README.md, "Adding a target").
import type { Suite } from '../interleave.js';
import { callSuites } from './calls.js';
import { dashboardSuite } from './dashboard.js';
import { deathSuite } from './death.js';
import { natsSuite } from './nats.js';
import { startupSuite } from './startup.js';

export const SUITES: readonly Suite[] = [...callSuites, deathSuite, startupSuite, dashboardSuite];

/** Suites that need more than Node (`nats-server` on the PATH): run only when `--only` names them. */
export const OPT_IN_SUITES: readonly Suite[] = [natsSuite];

/** The suite named exactly `name`. */
export function suiteNamed(name: string): Suite {
  const suite = [...SUITES, ...OPT_IN_SUITES].find((s) => s.name === name);
  if (!suite) throw new Error(`No suite is named ${name}`);
  return suite;
}
