// Every baseline scenario, in the order the table shows them: transports' floors first, then libraries.

import type { Scenario } from '../harness.js';
import { birpcScenarios } from './birpc.js';
import { comlinkScenarios } from './comlink.js';
import { piscinaScenarios } from './piscina.js';
import { portPayloadScenarios } from './port-payload.js';
import { portRawScenarios } from './port-raw.js';
import { tcpRawScenarios } from './tcp-raw.js';

export const baselines: Scenario[] = [
  ...portRawScenarios,
  ...portPayloadScenarios,
  ...comlinkScenarios,
  ...birpcScenarios,
  ...piscinaScenarios,
  ...tcpRawScenarios,
];
