/**
 * A gate for `fixtures/gated-factory.ts`: while armed, an incarnation that starts writes `waiting-…` in
 * `dir` and waits in its factory; released, it finishes loading; told to crash, it exits with code 1
 * there. Lets a test catch an incarnation in the middle of its start. Give the worker `env: { CONVOY_TEST_GATE: gate.dir }`; the folder goes at teardown.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';

export interface FactoryGate {
  dir: string;
  arm(): void;
  release(): void;
  /** The incarnation waiting at the gate exits (code 1), as one that dies while it loads. */
  crash(): void;
  /** An incarnation is waiting at the gate. */
  waiting(): boolean;
}

export function factoryGate(t: ExecutionContext): FactoryGate {
  const dir = mkdtempSync(join(tmpdir(), 'convoy-gate-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return {
    dir,
    arm: () => writeFileSync(join(dir, 'armed'), ''),
    release: () => rmSync(join(dir, 'armed'), { force: true }),
    crash: () => writeFileSync(join(dir, 'crash'), ''),
    waiting: () => readdirSync(dir).some((f) => f.startsWith('waiting-')),
  };
}
