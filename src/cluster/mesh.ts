/**
 * How two workers are connected, once one of them needs the other. On one host: a MessageChannel between
 * two threads (whoever started both — the coordinator, or their agent — hands each side a port), TCP on
 * that host whenever a process is involved (the process listens; a thread dials it; of two processes, the
 * one listed first dials). On two hosts (the coordinator's own workers count as on its host): a NATS
 * transport, which both sides bind and neither dials. Workers on different hosts never share a port or a
 * loopback address, whatever the machines really are.
 */
import { MessageChannel } from 'node:worker_threads';
import type { PairEnd } from '../agent/protocol.js';
import type { DialPlan, NatsPairPlan, PortHandoff } from '../protocol/control.js';
import type { SharedMemoryPlan } from './shared-memory.js';
import type { WorkerHandle } from './worker-handle.js';

/** Where a worker on an agent's host listens for its peers there: that host's loopback. */
export const AGENT_LISTEN_HOST = '127.0.0.1';

export type PairPlan =
  /** Hand each of the coordinator's threads its port. */
  | { via: 'port'; handoffs: [to: WorkerHandle, handoff: PortHandoff][] }
  /** Ask `host`'s agent to connect two of its threads. */
  | { via: 'agent-port'; host: string; ends: [PairEnd, PairEnd] }
  /** Have `listener` listen (if it does not yet), then tell `dialer` to dial it at that port. */
  | { via: 'tcp'; dialer: WorkerHandle; listener: WorkerHandle; plan: Omit<DialPlan, 'port'> }
  /** Tell both to bind a NATS transport to the other. */
  | { via: 'nats'; binds: [to: WorkerHandle, plan: NatsPairPlan][] };

/**
 * Plans pair number `pair` between ready workers `a` and `b` (their current incarnations). `order` gives
 * each worker's position in the cluster, for the dialing rule; `listenHost` is where the coordinator's
 * own processes listen; `shm` says which of the coordinator's thread pairs also get shared-memory rings
 * beside their port.
 */
export function planPair(
  a: WorkerHandle,
  b: WorkerHandle,
  pair: number,
  order: ReadonlyMap<string, number>,
  listenHost: string,
  shm?: SharedMemoryPlan,
): PairPlan {
  if (a.host !== b.host) {
    return {
      via: 'nats',
      binds: [
        [a, { name: b.name, incarnation: b.incarnation, pair }],
        [b, { name: a.name, incarnation: a.incarnation, pair }],
      ],
    };
  }
  if (a.kind === 'thread' && b.kind === 'thread') {
    if (a.host !== undefined) return { via: 'agent-port', host: a.host, ends: [pairEnd(a), pairEnd(b)] };
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
  const host = listener.host === undefined ? listenHost : AGENT_LISTEN_HOST;
  return {
    via: 'tcp',
    dialer,
    listener,
    plan: { name: listener.name, incarnation: listener.incarnation, host, pair },
  };
}

/** A thread on an agent, as its agent knows it. */
function pairEnd(handle: WorkerHandle): PairEnd {
  return { id: handle.agentId ?? 0, name: handle.name, incarnation: handle.incarnation };
}
