/**
 * Entry of a worker process (reached from workers/process.js). The bootstrap and the cluster secret come
 * over the IPC channel — never on the command line or in the environment — and the control channel is
 * a TCP connection to the coordinator. When the IPC channel disconnects, the coordinator is gone (even
 * SIGKILLed): the process exits at once, so no worker outlives its cluster.
 */
import type { Bootstrap } from '../protocol/control.js';
import { COORDINATOR } from '../protocol/control.js';
import { type ExitNotice, PROTOCOL_VERSION } from '../protocol/messages.js';
import { ClusterClosedError, ProtocolError } from '../errors.js';
import type { NatsScope } from '../cluster/nats-options.js';
import { dialTcp } from '../transport/tcp-auth.js';
import type { TcpTransport } from '../transport/tcp.js';
import { lazyNats } from './nats-access.js';
import { WorkerRuntime } from './runtime.js';

/**
 * How long a process that was shut down lets user code still running finish (cleanup on ctx.signal) before
 * it exits: under the coordinator's own grace (shutdown.ts), after which it is killed.
 */
const SHUTDOWN_EXIT_GRACE_MS = 400;

export interface ProcessBootMessage {
  convoy: 'boot';
  boot: Bootstrap;
  secret: Uint8Array;
  /** In a cluster with workers on other hosts: how to reach them. */
  nats?: NatsScope;
}

/**
 * A process's last words, sent over its IPC channel too as it exits. The TCP control connection can lose
 * them: a process that exits with bytes it has not read resets its sockets, and a reset discards what the
 * coordinator had not yet read of it (a busy coordinator, a burst to a worker that crashes). A pipe keeps
 * what was written into it after its writer is gone.
 */
export interface LastWordsMessage {
  convoy: 'last-words';
  exit: ExitNotice;
}

export function runProcess(): void {
  if (!process.send) throw new Error('A convoy worker process must be started by the coordinator (no IPC channel)');
  process.on('disconnect', () => process.exit(0));
  // Ctrl-C in a terminal signals the whole foreground process group, and worker processes are in their
  // coordinator's. The coordinator owns their lifetime: one that handles SIGINT (to settle, then close)
  // needs them alive; one that does not dies of it, and the IPC disconnect above ends them. A listener of
  // the user's own module still hears the signal.
  process.on('SIGINT', () => {});
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
  const control = await connectControl(boot, secretBytes);
  const runtime = new WorkerRuntime(boot, secretBytes, control, {
    threadId: 0,
    ...(nats ? { nats: lazyNats(nats, `convoy worker ${boot.name}`) } : {}),
    onExit: (exit) => {
      // Written at once: the pipe is idle (only the boot message came over it), so nothing queues ahead.
      if (process.connected) process.send?.({ convoy: 'last-words', exit } satisfies LastWordsMessage);
    },
    onClose: (reason, cleanup) => {
      if (reason !== 'shutdown' || !cleanup) {
        // The coordinator is gone, or user code has nothing to do about the shutdown: give queued replies
        // a moment to leave, then go.
        setTimeout(() => process.exit(0), 50).unref();
        process.disconnect?.();
        return;
      }
      // Shut down with cleanup to do (listeners on ctx.signal, handlers holding their calls' signals):
      // what is queued leaves, and the calls still running see their signals abort. The IPC channel
      // stays open (it tells of a coordinator that dies) but no longer keeps the process alive: once the
      // cleanup leaves nothing pending it exits, else after a moment (as a thread, which the coordinator
      // ends after its own).
      runtime.control.close(new ClusterClosedError('The cluster is shutting down'));
      process.channel?.unref();
      setTimeout(() => process.exit(0), SHUTDOWN_EXIT_GRACE_MS).unref();
    },
  });
}

/**
 * The control connection to the coordinator. A machine starved by many workers starting at once can make
 * one handshake miss the coordinator's deadline (`handshakeTimeoutMs`): that attempt is dropped, as any
 * slow peer is, and this side tries again — each attempt must still prove the secret within the deadline
 * — for as long as the start may take. This side waits for the coordinator's answer that long too: had it
 * a deadline of its own, it could give up on a connection the coordinator has just taken as this worker's.
 */
async function connectControl(boot: Bootstrap, secret: Uint8Array): Promise<TcpTransport> {
  const giveUpAt = performance.now() + boot.linkWaitMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await dialTcp({
        host: boot.coordinatorHost!,
        port: boot.coordinatorPort!,
        secret,
        from: boot.name,
        to: COORDINATOR,
        incarnation: boot.incarnation,
        handshakeTimeoutMs: Math.max(boot.handshakeTimeoutMs, giveUpAt - performance.now()),
        maxFrameBytes: boot.channel.maxFrameBytes,
      });
    } catch (error) {
      const pauseMs = Math.min(RETRY_PAUSE_MS * attempt, MAX_RETRY_PAUSE_MS);
      if (!(error instanceof ProtocolError) || performance.now() + pauseMs > giveUpAt) throw error;
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }
}

const RETRY_PAUSE_MS = 50;
const MAX_RETRY_PAUSE_MS = 500;
