/**
 * How two workers are connected, once one of them needs the other: a MessageChannel between two threads
 * (the coordinator hands each side a port), TCP whenever a process is involved (the process listens; a
 * thread dials it; of two processes, the one listed first dials).
 */
import { MessageChannel } from 'node:worker_threads';
import type { DialPlan, PortHandoff } from '../protocol/control.js';
import type { SharedMemoryPlan } from './shared-memory.js';
import type { WorkerHandle } from './worker-handle.js';

export type PairPlan =
  /** Hand each thread its port. */
  | { via: 'port'; handoffs: [to: WorkerHandle, handoff: PortHandoff][] }
  /** Tell `dialer` to dial its peer's listener. */
  | { via: 'tcp'; dialer: WorkerHandle; plan: DialPlan };

/**
 * Plans pair number `pair` between ready workers `a` and `b` (their current incarnations). `order` gives
 * each worker's position in the cluster, for the dialing rule; `shm` says which thread pairs also get
 * shared-memory rings beside their port.
 */
export function planPair(
  a: WorkerHandle,
  b: WorkerHandle,
  pair: number,
  order: ReadonlyMap<string, number>,
  host: string,
  shm?: SharedMemoryPlan,
): PairPlan {
  if (a.kind === 'thread' && b.kind === 'thread') {
    const { port1, port2 } = new MessageChannel();
    const toA: PortHandoff = { convoy: 'peer-port', peer: b.name, incarnation: b.incarnation, pair, port: port1 };
    const toB: PortHandoff = { convoy: 'peer-port', peer: a.name, incarnation: a.incarnation, pair, port: port2 };
    const rings = shm?.forPair(a.spec, b.spec);
    if (rings) [toA.shm, toB.shm] = rings;
    return {
      via: 'port',
      handoffs: [
        [a, toA],
        [b, toB],
      ],
    };
  }
  const [dialer, listener] =
    a.kind === 'thread' ? [a, b] : b.kind === 'thread' ? [b, a] : order.get(a.name)! < order.get(b.name)! ? [a, b] : [b, a];
  return {
    via: 'tcp',
    dialer,
    plan: { name: listener.name, incarnation: listener.incarnation, host, port: listener.started!.port!, pair },
  };
}
