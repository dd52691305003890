import type { ChildProcess } from 'node:child_process';

/**
 * How a child process ended, once all it wrote to its pipes has been read: its 'close', not its 'exit'.
 * At 'exit' its pipes may still hold output (Node's docs say so), and a test that reads what it printed
 * then can find it empty: one did on a loaded machine, a usage error's line missing from stderr. 'close'
 * also waits for processes that inherited those pipes (a cluster's worker processes) to end.
 */
export function ended(child: ChildProcess): Promise<[code: number | null, signal: NodeJS.Signals | null]> {
  return new Promise((resolve) => child.once('close', (code, signal) => resolve([code, signal])));
}
