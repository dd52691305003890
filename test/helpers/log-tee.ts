/**
 * Keeps the logs of the servers and agents tests start, for a failure that only shows under load: with
 * `CONVOY_TEST_LOG_DIR` set, each one's stderr is appended to a file of its own there, stamped with the
 * time; without it, nothing is written.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';

const dir = process.env.CONVOY_TEST_LOG_DIR;

/** A sink for one process's stderr, writing to `<dir>/<what>-<pid>.log`; a no-op unless the variable is set. */
export function logTee(what: string, pid: number | undefined): (chunk: string) => void {
  if (!dir) return () => {};
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${what}-${pid ?? 'nopid'}.log`);
  return (chunk) => appendFileSync(file, `--- ${new Date().toISOString()}\n${chunk}`);
}
