/**
 * The transport of a worker thread's channel: its MessagePort, or shared-memory rings beside it. The
 * shared-memory transport is opt-in and most threads never run it, yet every module a worker loads at
 * start costs each worker its compile time: so it is loaded only by a thread that uses it, before its
 * runtime starts (`loadSharedMemory`), and every channel after that is made synchronously.
 */
import type { MessagePort } from 'node:worker_threads';
import type { ShmEnd } from '../protocol/control.js';
import { PortTransport } from '../transport/port.js';
import type { Transport } from '../transport/transport.js';

let sharedMemory: typeof import('../transport/shm.js') | undefined;

/** Loads the shared-memory transport, for a thread whose channels use it. */
export async function loadSharedMemory(): Promise<void> {
  sharedMemory ??= await import('../transport/shm.js');
}

/** The transport of a channel over `port`, and over the rings `shm` when the pair uses them. */
export function threadTransport(port: MessagePort, shm: ShmEnd | undefined): Transport {
  if (!shm) return new PortTransport(port);
  // A thread whose channels use shared memory loads it before it starts (thread-main.ts).
  if (!sharedMemory) throw new Error('A channel over shared memory in a thread that did not load the shared-memory transport');
  return new sharedMemory.ShmTransport(port, shm);
}
