// What the payload scenarios (baselines/port-payload.ts, scenarios/payload.ts) share: sizes and the loop.

import type { RunOptions } from './harness.js';

export const PAYLOAD_SIZES = [
  { label: '64KB', bytes: 64 * 1024 },
  { label: '16MB', bytes: 16 * 1024 * 1024 },
] as const;

/** Calls per repetition (fewer for big payloads); each gets a buffer of its own, made before the clock starts. */
export const payloadCalls = (o: RunOptions, bytes: number): number => Math.ceil((bytes <= 1 << 20 ? 200 : 10) / (o.quick ? 4 : 1));

/**
 * Mean ms per call of `send` over `count` fresh buffers of `bytes`, one call at a time. The buffers are
 * allocated up front so the clock sees only the send, the crossing and the reply.
 */
export async function msPerPayload(bytes: number, count: number, send: (buffer: Uint8Array) => Promise<number>): Promise<number> {
  const buffers = Array.from({ length: count }, () => new Uint8Array(bytes).fill(7));
  const started = performance.now();
  for (const buffer of buffers) {
    const got = await send(buffer);
    if (got !== bytes) throw new Error(`payload of ${bytes} bytes arrived as ${got}`);
  }
  return (performance.now() - started) / count;
}
