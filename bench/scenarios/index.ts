// convoy's sequential scenarios (figures with no target; the targets are in bench/suites/), in the order the table shows them (see bench/README.md, "convoy's scenarios").
// Which build they measure (compiled dist/ or source) is decided in ./convoy.ts and shown in each group.

import type { Scenario } from '../harness.js';
import { flavor, flavorNote } from './common.js';
import { revision } from './convoy.js';
import { memoryScenarios } from './memory.js';
import { payloadScenarios } from './payload.js';
import { meshScenarios } from './scale.js';

process.stderr.write(`convoy scenarios measure ${flavor === 'dist' ? 'the compiled build (dist/)' : 'the sources (tsx)'}: ${flavorNote}\n`);

/** Recorded in the JSON: which convoy build was measured, and why. */
export const convoyBuild = { flavor, note: flavorNote, revision };

export const scenarios: Scenario[] = [...meshScenarios, ...memoryScenarios, ...payloadScenarios];
