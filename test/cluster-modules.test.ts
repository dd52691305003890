/**
 * Worker modules of either flavour: a plain `.mjs` module runs as a thread and as a process, and such
 * workers call each other. (Every other cluster test loads `.ts` fixtures in threads and processes.)
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { fixture, startFor } from './helpers/cluster.js';

interface Plain {
  whoami(): { name: string; peers: string[]; pid: number; flavour: string };
  double(x: number): number;
  askPeer(to: string, x: number): Promise<number>;
}

test('a plain .mjs worker module runs in a thread and in a process, and they call each other', async (t) => {
  const cluster = await startFor(t, {
    workers: [
      { name: 'mt', module: fixture('plain.mjs'), kind: 'thread' },
      { name: 'mp', module: fixture('plain.mjs'), kind: 'process' },
    ],
  });
  const mt = cluster.worker<Plain>('mt');
  const mp = cluster.worker<Plain>('mp');
  t.deepEqual(await mt.whoami(), { name: 'mt', peers: ['mp'], pid: process.pid, flavour: 'mjs' });
  const p = await mp.whoami();
  t.like(p, { name: 'mp', peers: ['mt'], flavour: 'mjs' });
  t.not(p.pid, process.pid, 'a process worker runs in its own process');
  t.is(await mt.askPeer('mp', 21), 42);
  t.is(await mp.askPeer('mt', 5), 10);
});

test('a module given as a path string relative to the current directory loads too', async (t) => {
  const relative = path.relative(process.cwd(), fileURLToPath(fixture('plain.mjs')));
  t.false(path.isAbsolute(relative));
  const cluster = await startFor(t, { workers: [{ name: 'rel', module: relative }] });
  t.is(await cluster.worker<Plain>('rel').double(4), 8);
});
