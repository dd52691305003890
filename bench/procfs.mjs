// The processes of this machine as /proc lists them (Linux): for pinning the bench's process tree
// (pin.ts), the start-up probe's CPU of child processes (fixtures/task-cpu.mjs, plain Node: hence .mjs),
// and for tests that look for the processes a cluster left behind.
import { readdirSync, readFileSync } from 'node:fs';

/** Every process now in /proc, as `{ pid, ppid, state }`; one that exits while being read is left out. */
export function processes() {
  const out = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.push({ pid: Number(name), ppid: Number(ppid), state });
  }
  return out;
}
