/**
 * Entry of a worker process (reached from workers/process.js). The bootstrap and the cluster secret come
 * over the IPC channel — never on the command line or in the environment — and the control channel is
 * a TCP connection to the coordinator. When the IPC channel disconnects, the coordinator is gone (even
 * SIGKILLed): the process exits at once, so no worker outlives its cluster.
 */
import type { Bootstrap } from '../protocol/control.js';
import { COORDINATOR } from '../protocol/control.js';
import { PROTOCOL_VERSION } from '../protocol/messages.js';
import type { NatsScope } from '../transport/nats-connect.js';
import { dialTcp } from '../transport/tcp-auth.js';
import { lazyNats } from './nats-access.js';
import { WorkerRuntime } from './runtime.js';

export interface ProcessBootMessage {
  convoy: 'boot';
  boot: Bootstrap;
  secret: Uint8Array;
  /** In a cluster with workers on other hosts: how to reach them. */
  nats?: NatsScope;
}

export function runProcess(): void {
  if (!process.send) throw new Error('A convoy worker process must be started by the coordinator (no IPC channel)');
  process.on('disconnect', () => process.exit(0));
  process.once('message', (message: ProcessBootMessage) => {
    if (message?.convoy !== 'boot') {
      process.exit(70);
    }
    start(message).catch((error: unknown) => {
      console.error(`convoy worker failed to start:`, error);
      process.exit(70);
    });
  });
}

async function start({ boot, secret, nats }: ProcessBootMessage): Promise<void> {
  if (boot.v !== PROTOCOL_VERSION) throw new Error(`convoy protocol version mismatch: coordinator ${boot.v}, worker ${PROTOCOL_VERSION}`);
  const secretBytes = new Uint8Array(secret);
  const control = await dialTcp({
    host: boot.coordinatorHost!,
    port: boot.coordinatorPort!,
    secret: secretBytes,
    from: boot.name,
    to: COORDINATOR,
    incarnation: boot.incarnation,
    handshakeTimeoutMs: boot.handshakeTimeoutMs,
    maxFrameBytes: boot.channel.maxFrameBytes,
  });
  new WorkerRuntime(boot, secretBytes, control, {
    threadId: 0,
    ...(nats ? { nats: lazyNats(nats, `convoy worker ${boot.name}`) } : {}),
    onClose: () => {
      // Give queued replies a moment to leave, then go; the coordinator also kills us if we linger.
      setTimeout(() => process.exit(0), 50).unref();
      process.disconnect?.();
    },
  });
}
