// The sequential baselines, in the order the table shows them. (The call baselines — raw port and TCP,
// birpc, comlink — are arms of the interleaved suites: bench/suites/calls.ts.)

import type { Scenario } from '../harness.js';
import { piscinaScenarios } from './piscina.js';
import { portPayloadScenarios } from './port-payload.js';

export const baselines: Scenario[] = [...portPayloadScenarios, ...piscinaScenarios];
