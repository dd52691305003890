// Pins this process, every thread of it and every process it spawned (and theirs) to a set of CPUs, or one
// thread, with `taskset` (util-linux). Used for one-at-a-time round trips: on a virtual machine whose idle CPUs sleep,
// a message to a thread on the other CPU waits for that CPU to wake (~50 µs here), and which arm's thread
// the scheduler happens to place beside the caller decides its window, not the code under test. On one
// CPU every round trip costs the same context switches, so what differs between arms is their own work.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { processes } from './procfs.mjs';

/** The CPUs this process may run on, as taskset writes them (`0-1`, `2,5`). */
export function allowedCpus(): string {
  const match = /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync('/proc/self/status', 'utf8'));
  if (!match) throw new Error('No Cpus_allowed_list in /proc/self/status');
  return match[1]!;
}

/** The first CPU this process may use: where the one-CPU rows run (pinToOneCpu) and the host gauge reads. */
export function firstAllowedCpu(list = allowedCpus()): string {
  return /^\d+/.exec(list)![0];
}

/**
 * Pins this process tree to the first CPU it may use; returns what puts back the CPUs it was allowed
 * before (threads and processes started meanwhile included).
 */
export function pinToOneCpu(): () => void {
  const before = allowedCpus();
  pinTree(firstAllowedCpu(before));
  return () => pinTree(before);
}

/** The CPUs of a taskset list (`0-1`, `2,5`), in order. */
export function cpuList(list: string): number[] {
  return list.split(',').flatMap((part) => {
    const [from, to = from] = part.split('-').map(Number);
    return Array.from({ length: to! - from! + 1 }, (_, i) => from! + i);
  });
}

/** Pins one thread (an OS thread id, as /proc/thread-self names it) to `cpus`; others keep theirs. */
export function pinThread(thread: number, cpus: string): void {
  taskset(['-p', '-c', cpus, String(thread)]);
}

/** Pins this process tree (threads included, and those it starts later: they inherit it) to `cpus`. */
function pinTree(cpus: string): void {
  for (const pid of processTree(process.pid)) taskset(['-a', '-p', '-c', cpus, String(pid)]);
}

function taskset(args: string[]): void {
  try {
    execFileSync('taskset', args, { stdio: 'ignore' });
  } catch (e) {
    // A process or thread that exited meanwhile is fine; a missing taskset is not.
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('taskset (util-linux) is needed to pin threads to CPUs');
  }
}

/** `root` and all its descendants. */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const { pid, ppid } of processes()) {
    const list = children.get(ppid) ?? [];
    list.push(pid);
    children.set(ppid, list);
  }
  const out: number[] = [];
  const walk = (pid: number): void => {
    out.push(pid);
    for (const child of children.get(pid) ?? []) walk(child);
  };
  walk(root);
  return out;
}
