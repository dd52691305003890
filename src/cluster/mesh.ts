/**
 * Who connects to whom. Every pair of workers gets one direct channel: a MessageChannel between two
 * threads (the coordinator hands each side a port), TCP whenever a process is involved (the process
 * listens; a thread dials it; of two processes, the one listed first dials).
 */
import { MessageChannel } from 'node:worker_threads';
import type { PeerPlan, PortHandoff } from '../protocol/control.js';
import type { SharedMemoryPlan } from './shared-memory.js';
import type { WorkerHandle } from './worker-handle.js';

export interface MeshPlan {
  plans: Map<WorkerHandle, PeerPlan[]>;
  handoffs: { to: WorkerHandle; handoff: PortHandoff }[];
}

/**
 * Plans the channels between `fresh` workers and every worker in `live` (fresh ones included).
 * `order` gives each worker's position in the cluster, for the dialing rule.
 */
export function planMesh(
  fresh: WorkerHandle[],
  live: WorkerHandle[],
  order: Map<string, number>,
  host: string,
  shm?: SharedMemoryPlan,
): MeshPlan {
  const plan: MeshPlan = { plans: new Map(), handoffs: [] };
  const add = (handle: WorkerHandle, peerPlan: PeerPlan): void => {
    let list = plan.plans.get(handle);
    if (!list) plan.plans.set(handle, (list = []));
    list.push(peerPlan);
  };
  const done = new Set<string>();
  for (const a of fresh) {
    for (const b of live) {
      if (a === b) continue;
      const key = a.name < b.name ? `${a.name}\0${b.name}` : `${b.name}\0${a.name}`;
      if (done.has(key)) continue;
      done.add(key);
      if (a.kind === 'thread' && b.kind === 'thread') {
        const { port1, port2 } = new MessageChannel();
        const toA: PortHandoff = { convoy: 'peer-port', peer: b.name, incarnation: b.incarnation, port: port1 };
        const toB: PortHandoff = { convoy: 'peer-port', peer: a.name, incarnation: a.incarnation, port: port2 };
        const rings = shm?.forPair(a.spec, b.spec);
        if (rings) [toA.shm, toB.shm] = rings;
        plan.handoffs.push({ to: a, handoff: toA }, { to: b, handoff: toB });
        add(a, { name: b.name, incarnation: b.incarnation, via: 'port' });
        add(b, { name: a.name, incarnation: a.incarnation, via: 'port' });
        continue;
      }
      const [dialer, listener] =
        a.kind === 'thread' ? [a, b] : b.kind === 'thread' ? [b, a] : order.get(a.name)! < order.get(b.name)! ? [a, b] : [b, a];
      add(dialer, { name: listener.name, incarnation: listener.incarnation, via: 'dial', host, port: listener.started!.port! });
      add(listener, { name: dialer.name, incarnation: dialer.incarnation, via: 'accept' });
    }
  }
  return plan;
}
