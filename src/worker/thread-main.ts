/** Entry of a worker thread (reached from workers/thread.js): control over a MessagePort from the coordinator. */
import { parentPort, threadId, workerData, type MessagePort } from 'node:worker_threads';
import type { Bootstrap, PortHandoff, ShmEnd } from '../protocol/control.js';
import { PROTOCOL_VERSION } from '../protocol/messages.js';
import type { NatsScope } from '../cluster/nats-options.js';
import { ClusterClosedError } from '../errors.js';
import { lazyNats } from './nats-access.js';
import { WorkerRuntime } from './runtime.js';
import { loadSharedMemory, threadTransport } from './thread-transport.js';

export interface ThreadData {
  boot: Bootstrap;
  secret: Uint8Array;
  control: MessagePort;
  /** In a cluster with workers on other hosts: how to reach them. */
  nats?: NatsScope;
  /** The control channel's shared-memory rings, when it uses them. */
  controlShm?: ShmEnd;
}

export async function runThread(): Promise<void> {
  const { boot, secret, control, nats, controlShm } = (workerData as { convoy: ThreadData }).convoy;
  if (boot.v !== PROTOCOL_VERSION) throw new Error(`convoy protocol version mismatch: coordinator ${boot.v}, worker ${PROTOCOL_VERSION}`);
  // A thread's control channel uses shared memory exactly when its peer channels may: its own choice.
  // What the coordinator posts meanwhile waits in the ports' queues.
  if (controlShm) await loadSharedMemory();
  const runtime = new WorkerRuntime(boot, secret, threadTransport(control, controlShm), {
    threadId,
    ...(nats ? { nats: lazyNats(nats, `convoy worker ${boot.name}`) } : {}),
    onClose: () => {
      // With every port closed the thread's loop empties and it exits by itself (unless user code
      // keeps it busy; then the coordinator terminates it).
      parentPort?.off('message', onHandoff);
      parentPort?.close();
      runtime.control.close(new ClusterClosedError('The cluster is shutting down'));
    },
  });
  const onHandoff = (message: PortHandoff): void => {
    if (message?.convoy === 'peer-port') {
      runtime.peers.adoptPort(message.peer, message.incarnation, message.pair, message.port, message.shm);
    }
  };
  parentPort!.on('message', onHandoff);
}
