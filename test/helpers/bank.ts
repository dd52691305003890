/** Helpers for the bank's state-machine tests: a temporary data directory, a shard over a real WAL, requests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PrepareRequest, ShardRecord } from '../../examples/bank/config.js';
import { ShardState, type ShardStateOptions } from '../../examples/bank/shard-state.js';
import { openWal } from '../../examples/bank/wal.js';

export function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'bank-state-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A shard holding s0a0 and s0a1 (100 each), over a WAL in `dir`. */
export function openShard(
  dir: string,
  name = 'shard-0',
  locks?: ShardStateOptions['locks'],
): { shard: ShardState; close: () => Promise<void>; crash: () => void } {
  const { wal, replay } = openWal<ShardRecord>(join(dir, `${name}.wal`));
  const shard = new ShardState({ name, wal, records: replay.records, opening: { s0a0: 100, s0a1: 100 }, locks });
  return { shard, close: () => wal.close(), crash: () => wal.crash() };
}

/** A prepare request; its age is the counter at the end of `txId` (`t/1/2` is younger than `t/1/1`). */
export const req = (txId: string, account: string, delta: number, teller = 'teller-0'): PrepareRequest => ({
  txId,
  teller,
  account,
  delta,
  startedAt: Number(txId.slice(txId.lastIndexOf('/') + 1)),
});
