// The last resort of `convoy bank --agents`: the agents and the NATS server run in process groups of their
// own (out of a terminal's Ctrl-C), so nothing ends them if the bank itself is killed (SIGKILL, the OOM
// killer), when no exit hook runs. This small process is told, line by line on its stdin, what the bank
// started; its stdin ends when the bank's process does, however it ends. Unless the bank said `done`
// first (it ended them itself), it then SIGKILLs each group still named and removes the directory.
//
//   group <pid>   a process group to end: the child spawned detached, whose group id is its pid
//   gone <pid>    that child has exited (its pid may be reused: never signal it again)
//   dir <path>    a directory to remove
//   done          the bank ended everything itself: end no group, remove nothing
import { rmSync } from 'node:fs';
import { createInterface } from 'node:readline';

const groups = new Set<number>();
const dirs = new Set<string>();
let done = false;

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const space = line.indexOf(' ');
  const [word, arg] = space < 0 ? [line, ''] : [line.slice(0, space), line.slice(space + 1)];
  if (word === 'group') groups.add(Number(arg));
  else if (word === 'gone') groups.delete(Number(arg));
  else if (word === 'dir') dirs.add(arg);
  else if (word === 'done') done = true;
});
lines.on('close', () => {
  if (done) return;
  for (const pid of groups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // ESRCH: that group has already ended.
    }
  }
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
