/**
 * When the coordinator cannot open a pair's channel between two live workers — a listen or a dial keeps
 * failing until the timeout (say, for want of file descriptors) — the refusal says how the last try failed,
 * so the calls it fails name the cause instead of only "no channel".
 */
import test from 'ava';
import type { WorkerHandle } from '../src/cluster/worker-handle.js';
import { Wiring } from '../src/cluster/wiring.js';

/** Long enough for a few retries (50 ms apart), short enough for a unit test. */
const TIMEOUT_MS = 300;

/** A ready worker as the wiring sees it: a process listens, a thread dials through its control endpoint. */
function handle(name: string, kind: 'thread' | 'process', behaviour: { listen?: () => Promise<number>; connect?: () => Promise<unknown> }) {
  const calls = { listen: 0, connect: 0 };
  const fake = {
    name,
    kind,
    state: 'ready' as const,
    incarnation: 0,
    calls,
    whenReady: () => Promise.resolve(true),
    listen: () => {
      calls.listen++;
      return behaviour.listen!();
    },
    control: {
      call: () => {
        calls.connect++;
        return behaviour.connect!();
      },
    },
  };
  return fake;
}

function wiring(...handles: ReturnType<typeof handle>[]): Wiring {
  return wiringWithin(TIMEOUT_MS, ...handles);
}

function wiringWithin(timeoutMs: number, ...handles: ReturnType<typeof handle>[]): Wiring {
  return new Wiring(handles as unknown as WorkerHandle[], {
    listenHost: '127.0.0.1',
    timeoutMs,
    pairAgentThreads: () => false,
  });
}

test('a dial that keeps failing is retried until the timeout, then refused with how it failed', async (t) => {
  const p = handle('p', 'process', { listen: async () => 4000 });
  const w = handle('w', 'thread', {
    connect: async () => {
      throw new Error('connect EMFILE 127.0.0.1:4000 - Local (undefined:undefined)');
    },
  });
  const reply = await wiring(p, w).open(w as unknown as WorkerHandle, 0, 'p', 0);
  t.deepEqual(reply, { ok: false, reason: 'w could not open its end: connect EMFILE 127.0.0.1:4000 - Local (undefined:undefined)' });
  t.true(w.calls.connect > 1, `dialed ${w.calls.connect} times`);
});

test('a listener that cannot listen is named in the refusal', async (t) => {
  const p = handle('p', 'process', {
    listen: async () => {
      throw new Error('listen EMFILE: too many open files');
    },
  });
  const w = handle('w', 'thread', { connect: async () => undefined });
  t.deepEqual(await wiring(p, w).open(w as unknown as WorkerHandle, 0, 'p', 0), {
    ok: false,
    reason: 'p could not listen: listen EMFILE: too many open files',
  });
  t.is(w.calls.connect, 0, 'nothing to dial');
});

test('a dial that succeeds after failures opens the pair, and the refusal reasons are not kept', async (t) => {
  let failures = 2;
  const p = handle('p', 'process', { listen: async () => 4000 });
  const w = handle('w', 'thread', {
    connect: async () => {
      if (failures-- > 0) throw new Error('connect ECONNREFUSED');
    },
  });
  // Time to retry on a loaded machine: a retry timer late by 250 ms would have met the 300 ms deadline.
  t.deepEqual(await wiringWithin(10_000, p, w).open(w as unknown as WorkerHandle, 0, 'p', 0), { ok: true });
  t.is(w.calls.connect, 3);
});
