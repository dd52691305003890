// convoy's own scenarios are registered here by another engineer (see bench/README.md, "Adding a scenario").
// Declare `baseline: '<baseline scenario name>'` to get a ratio column, e.g. 'birpc/pipelined'.

import type { Scenario } from '../harness.js';

export const scenarios: Scenario[] = [];
