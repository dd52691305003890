/**
 * Entry of a worker placed on an agent's host (reached from workers/thread.js or workers/process.js, as
 * the coordinator's own workers are): its control channel to the coordinator is a NATS transport over a
 * connection of its own. The bootstrap, the cluster secret and the NATS credentials come from the agent
 * in workerData or over IPC, never on the command line or in the environment. A process exits when its
 * agent's IPC channel closes (the agent was killed), a thread dies with its agent, so no worker
 * outlives the agent that started it.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import type { RemoteWorkerNats } from '../agent/protocol.js';
import type { Bootstrap, PortHandoff } from '../protocol/control.js';
import { ProtocolError } from '../errors.js';
import { PROTOCOL_VERSION } from '../protocol/messages.js';
import type { NatsHub } from '../transport/nats-hub.js';
import { sharedNats } from './nats-access.js';
import { WorkerRuntime } from './runtime.js';

/** How long a remote worker's cleanup on ctx.signal gets at a shutdown: under the coordinator's wait. */
const REMOTE_CLEANUP_GRACE_MS = 400;

/** What the agent hands a worker it starts. */
export interface RemoteWorkerData {
  boot: Bootstrap;
  secret: Uint8Array;
  nats: RemoteWorkerNats;
}

export interface RemoteBootMessage extends RemoteWorkerData {
  convoy: 'remote-boot';
}

async function start(
  { boot, secret, nats }: RemoteWorkerData,
  tid: number,
  exit: () => void,
): Promise<{ runtime: WorkerRuntime; hub: NatsHub }> {
  if (boot.v !== PROTOCOL_VERSION) throw new Error(`convoy protocol version mismatch: coordinator ${boot.v}, worker ${PROTOCOL_VERSION}`);
  // Loaded here, not imported: the bundle holds this runtime in the module every worker loads
  // (dist/bundle/convoy.js), and a static import would load the NATS client into all of them.
  const [{ connectNats }, { NatsHub }] = await Promise.all([import('../transport/nats-connect.js'), import('../transport/nats-hub.js')]);
  const connection = await connectNats(nats.connect, `convoy worker ${nats.self}`);
  const hub = new NatsHub(connection, { cluster: nats.scope, secret: new Uint8Array(nats.secret) });
  const control = hub.open(nats.self, nats.coordinator, { maxFrameBytes: boot.channel.maxFrameBytes });
  const runtime = new WorkerRuntime(boot, new Uint8Array(secret), control, {
    threadId: tid,
    // Closing the hub lets the control transport's close leave, then frees the connection.
    onClose: (reason, cleanup) => {
      const end = (): void => void hub.close().finally(exit);
      // Cleanup to do about a shutdown (listeners on ctx.signal): a moment for it, as a local worker gets.
      if (reason === 'shutdown' && cleanup) setTimeout(end, REMOTE_CLEANUP_GRACE_MS);
      else end();
    },
    // Peers on other hosts are reached over the same connection.
    nats: sharedNats(hub),
  });
  return { runtime, hub };
}

export function runThread(): void {
  const { convoy } = workerData as { convoy: RemoteWorkerData };
  // A peer thread of the same agent: the agent hands over one port of their MessageChannel.
  let runtime: WorkerRuntime | undefined;
  const onHandoff = (message: PortHandoff): void => {
    if (message?.convoy !== 'peer-port') return;
    if (runtime) runtime.peers.adoptPort(message.peer, message.incarnation, message.pair, message.port);
    else message.port.close();
  };
  parentPort!.on('message', onHandoff);
  const exit = (): void => {
    parentPort?.off('message', onHandoff);
    parentPort?.close();
  };
  // A failure to start is an unhandled rejection: it ends the thread, and the agent reports a crash.
  void start(convoy, threadId, exit).then((started) => {
    runtime = started.runtime;
  });
}

export function runProcess(): void {
  if (!process.send) throw new Error('A convoy worker process must be started by an agent (no IPC channel)');
  let hub: NatsHub | undefined;
  let ending = false;
  // The IPC channel closed and this worker did not end it: its agent is gone (killed), and so is the
  // worker, at once. Its channels are reset rather than closed — it has no last words: it did not exit
  // of its own accord, and its calls are lost with its host (`disconnected`).
  process.on('disconnect', () => {
    if (!ending && hub) {
      void hub.close(new ProtocolError('The worker’s agent is gone'));
      hub.flushNow();
    }
    process.exit(0);
  });
  process.once('message', (message: RemoteBootMessage) => {
    if (message?.convoy !== 'remote-boot') process.exit(70);
    start(message, 0, () => {
      ending = true;
      process.disconnect?.();
      process.exit(0);
    }).then(
      (started) => {
        hub = started.hub;
      },
      (error: unknown) => {
        console.error('convoy worker failed to start:', error);
        process.exit(70);
      },
    );
  });
}
