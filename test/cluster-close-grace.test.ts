/**
 * close() tells the workers (ctx.signal, and the signals of the calls they are serving) and lets what
 * they do about it run a moment before it ends them. A thread used to be terminated as the word
 * arrived, and a process exited within milliseconds of it; a call from the coordinator to a process
 * never saw its signal abort, and one to a thread saw a plain Error.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { fixture, pollUntil, startFor } from './helpers/cluster.js';

test('at close(), a thread and a process see their calls’ signals abort as closed, and their ctx.signal cleanup runs', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'convoy-close-grace-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'seen');
  const cluster = await startFor(t, {
    workers: [
      { name: 't', module: fixture('cleanup-on-close.ts'), kind: 'thread', data: { file } },
      { name: 'p', module: fixture('cleanup-on-close.ts'), kind: 'process', data: { file } },
    ],
  });
  const read = (): string[] => {
    try {
      return readFileSync(file, 'utf8').trim().split('\n').sort();
    } catch {
      return [];
    }
  };
  const held = ['t', 'p'].map((name) =>
    cluster
      .worker<{ hold(): Promise<void> }>(name)
      .hold()
      .catch((error: unknown) => error),
  );
  // No event says a handler is running but what it writes.
  await pollUntil(() => read().length === 2, 10_000, 'both calls being served');
  t.deepEqual(read(), ['p holding', 't holding']);
  await cluster.close();
  for (const outcome of await Promise.all(held))
    t.true(outcome === undefined || (outcome as { code?: string }).code === 'ERR_CONVOY_CLOSED');
  t.deepEqual(read(), [
    'p call aborted: ERR_CONVOY_CLOSED',
    'p cleaned up',
    'p holding',
    't call aborted: ERR_CONVOY_CLOSED',
    't cleaned up',
    't holding',
  ]);
});
