/**
 * Per-call timeouts and AbortSignals: the caller's promise rejects (TimeoutError naming the method, or
 * the signal's reason), a cancel message reaches the callee, whose `currentCall().signal` aborts; a late
 * reply is dropped quietly and the channel goes on.
 */
import { getEventListeners } from 'node:events';
import test from 'ava';
import { TimeoutError } from '../src/errors.js';
import { currentCall } from '../src/rpc/call-context.js';
import { createRemote, notify, withOptions } from '../src/rpc/remote.js';
import { Counter, deferred, nextTurn, withDeadline } from './helpers/deadline.js';
import { TRANSPORT_KINDS, createPair } from './helpers/pairs.js';
import { failOnLeaks } from './helpers/leaks.js';

failOnLeaks(test);

interface Api {
  hang(label: string): Promise<string>;
  quick(n: number): number;
  lateReply(): Promise<string>;
}

/** A callee whose `hang` waits until its signal aborts, and reports the abort. */
function callee() {
  const aborted = new Map<string, unknown>();
  const abortedOnce = deferred<string>();
  const started = new Counter();
  const abortCount = new Counter();
  const releaseLate = deferred();
  const api: Api = {
    hang(label) {
      const { signal } = currentCall();
      started.add();
      return new Promise((_, reject) => {
        signal.addEventListener('abort', () => {
          aborted.set(label, signal.reason);
          abortedOnce.resolve(label);
          abortCount.add();
          reject(new Error('aborted'));
        });
      });
    },
    quick: (n) => n,
    async lateReply() {
      await releaseLate.promise;
      return 'too late';
    },
  };
  return { api, aborted, abortedOnce: abortedOnce.promise, releaseLate, started, abortCount };
}

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: a per-call timeout rejects with TimeoutError naming method and worker, and aborts the callee's signal`, async (t) => {
    const c = callee();
    const { a, b } = await createPair(t, kind, { b: { api: c.api } });
    const remote = createRemote<Api>(a);
    const started = performance.now();
    const error = await t.throwsAsync(withDeadline(withOptions(remote, { timeoutMs: 50 }).hang('t1'), 5000, 'timeout'), {
      instanceOf: TimeoutError,
    });
    t.true(performance.now() - started >= 45, 'not before the timeout');
    t.is(error?.code, 'ERR_CONVOY_TIMEOUT');
    t.is((error as TimeoutError).method, 'hang');
    t.true(error!.message.includes('hang') && error!.message.includes('"b"'), error!.message);
    t.is(await withDeadline(c.abortedOnce, 5000, 'callee abort'), 't1');
    // The callee's signal says it was the caller's timeout, as the caller's error does.
    const reason = c.aborted.get('t1');
    t.true(reason instanceof TimeoutError, String(reason));
    t.like(reason, { code: 'ERR_CONVOY_TIMEOUT', method: 'hang', timeoutMs: 50, message: 'Call to `hang` timed out after 50 ms' });
    t.is(b.activeSignals, 0, 'the callee forgets the signal once the handler settled');
    // The channel is fine, and remotes without options are unaffected.
    t.is(await remote.quick(7), 7);
  });

  // A review's: the cancel carries the time, and one of 50.5 ms failed the callee's check of the message,
  // which ended the channel (a thread exited, a process was killed).
  test(`${kind}: a timeout of a fraction of a millisecond reaches the callee's signal, and the channel goes on`, async (t) => {
    const c = callee();
    const { a } = await createPair(t, kind, { b: { api: c.api } });
    const remote = createRemote<Api>(a);
    await t.throwsAsync(withDeadline(withOptions(remote, { timeoutMs: 50.5 }).hang('f1'), 5000, 'timeout'), { instanceOf: TimeoutError });
    t.is(await withDeadline(c.abortedOnce, 5000, 'callee abort'), 'f1');
    t.like(c.aborted.get('f1'), { code: 'ERR_CONVOY_TIMEOUT', timeoutMs: 50.5 });
    t.is(await withDeadline(remote.quick(3), 5000, 'a call after it'), 3);
  });

  test(`${kind}: an AbortSignal rejects the call with its reason and the callee sees currentCall().signal aborted`, async (t) => {
    const c = callee();
    const { a } = await createPair(t, kind, { b: { api: c.api } });
    const controller = new AbortController();
    const remote = withOptions(createRemote<Api>(a), { signal: controller.signal });
    const call = remote.hang('s1');
    const other = remote.hang('s2');
    const reason = new Error('user gave up');
    // Abort once the callee is really running both handlers (the cancel must reach running handlers).
    await c.started.reach(2, 5000, 'both handlers started');
    controller.abort(reason);
    await t.throwsAsync(call, { is: reason });
    await t.throwsAsync(other, { is: reason });
    await c.abortCount.reach(2, 5000, 'both callee signals aborted');
    t.deepEqual([...c.aborted.keys()].sort(), ['s1', 's2']);
    // An abort, as an aborted signal's own reason is: a DOMException named AbortError.
    for (const label of ['s1', 's2']) {
      t.like(c.aborted.get(label), { name: 'AbortError', message: 'The caller cancelled this call' });
      t.true(c.aborted.get(label) instanceof DOMException);
    }
    t.is(await createRemote<Api>(a).quick(1), 1);
  });

  test(`${kind}: aborting in the same turn as the call, before it leaves, still cancels the callee`, async (t) => {
    const c = callee();
    const { a } = await createPair(t, kind, { b: { api: c.api } });
    const controller = new AbortController();
    const call = withOptions(createRemote<Api>(a), { signal: controller.signal }).hang('same-turn');
    controller.abort(new Error('changed my mind'));
    await t.throwsAsync(call, { message: 'changed my mind' });
    t.is(await withDeadline(c.abortedOnce, 5000, 'callee abort'), 'same-turn');
  });

  test(`${kind}: a call aborted or timed out while it waits for room (maxInFlight) is taken back: never sent, its handler never runs`, async (t) => {
    const c = callee();
    const gate = deferred();
    const ran: string[] = [];
    const api = { ...c.api, first: () => gate.promise, record: (label: string) => ran.push(label) };
    const { a } = await createPair(t, kind, { channel: { maxInFlight: 1 }, b: { api } });
    const first = a.call('first', []);
    const controller = new AbortController();
    const aborted = a.call('record', ['aborted'], { signal: controller.signal });
    const timedOut = a.call('record', ['timed out'], { timeoutMs: 30 });
    const kept = a.call('record', ['kept']);
    t.is(a.channel.waiting, 3, 'three calls wait for the first');
    controller.abort(new Error('no longer needed'));
    await t.throwsAsync(aborted, { message: 'no longer needed' });
    await t.throwsAsync(timedOut, { instanceOf: TimeoutError });
    t.is(a.channel.waiting, 1, 'both left the wait');
    gate.resolve();
    await withDeadline(first, 5000, 'first call');
    await withDeadline(kept, 5000, 'the call behind them');
    t.deepEqual(ran, ['kept'], 'neither ran on the callee');
    t.is(a.pendingCalls, 0, 'nothing left pending: no reply was awaited for them');
    t.is(await withDeadline(a.call('quick', [1]), 5000, 'the in-flight place is free again'), 1);
  });

  test(`${kind}: an already-aborted signal rejects at once with its reason, and the call is not sent`, async (t) => {
    const c = callee();
    const { a } = await createPair(t, kind, { b: { api: c.api } });
    const reason = new Error('already');
    await t.throwsAsync(withOptions(createRemote<Api>(a), { signal: AbortSignal.abort(reason) }).hang('pre-aborted'), { is: reason });
    // A call after it has run there, so the aborted one would have started by now had it been sent.
    t.is(await withDeadline(a.call('quick', [2]), 5000, 'a later call'), 2);
    t.is(c.started.count, 0, 'its handler never started');
    t.is(a.counts.calls, 1, 'only the later call was sent');
  });

  test(`${kind}: a notify through a remote whose signal has aborted is refused with its reason and not sent; before the abort it is sent`, async (t) => {
    const c = callee();
    const { a } = await createPair(t, kind, { b: { api: c.api } });
    const controller = new AbortController();
    const remote = withOptions(createRemote<Api>(a), { signal: controller.signal });
    await notify(remote).quick(1);
    controller.abort(new Error('stop'));
    // Before, the notify went out anyway: the remote's signal was ignored.
    await t.throwsAsync(notify(remote).hang('after the abort'), { message: 'stop' });
    t.is(await withDeadline(a.call('quick', [2]), 5000, 'a later call'), 2);
    t.is(c.started.count, 0, 'the refused notify never ran');
    t.is(a.counts.notifies, 1, 'only the notify made before the abort was sent');
  });

  test(`${kind}: a timed-out call keeps its maxInFlight place until its reply comes`, async (t) => {
    const c = callee();
    const { a } = await createPair(t, kind, { channel: { maxInFlight: 1 }, b: { api: c.api } });
    await t.throwsAsync(a.call('lateReply', [], { timeoutMs: 20 }), { instanceOf: TimeoutError });
    // Its handler (which ignores the signal) still runs on the callee: the next call waits for room.
    const next = a.call('quick', [5]);
    t.is(a.channel.waiting, 1, 'the next call waits while the timed-out one is still running there');
    c.releaseLate.resolve();
    t.is(await withDeadline(next, 5000, 'the next call, once the late reply freed the place'), 5);
    t.is(a.channel.waiting, 0);
  });

  test(`${kind}: a reply that arrives after the timeout is dropped quietly; the channel stays open`, async (t) => {
    const c = callee();
    const { a } = await createPair(t, kind, { b: { api: c.api } });
    await t.throwsAsync(a.call('lateReply', [], { timeoutMs: 20 }), { instanceOf: TimeoutError });
    c.releaseLate.resolve();
    // The late reply is on its way; calls after it still work and the channel did not see a protocol error.
    t.is(await withDeadline(a.call('quick', [3]), 5000, 'call after late reply'), 3);
    t.is(await withDeadline(a.call('quick', [4]), 5000, 'second call'), 4);
    t.false(a.closed);
    t.is(a.pendingCalls, 0, 'the late reply settled the entry');
  });

  test(`${kind}: an endpoint-wide callTimeoutMs applies to every call; a per-call 0 disables it`, async (t) => {
    const c = callee();
    const { a } = await createPair(t, kind, { a: { callTimeoutMs: 30 }, b: { api: c.api } });
    const error = await t.throwsAsync(a.call('hang', ['wide']), { instanceOf: TimeoutError });
    t.is((error as TimeoutError).timeoutMs, 30);
    c.releaseLate.resolve();
    t.is(await a.call('lateReply', [], { timeoutMs: 0 }), 'too late');
  });

  test(`${kind}: a handler's signal aborts when the channel closes`, async (t) => {
    const c = callee();
    const { a, b } = await createPair(t, kind, { b: { api: c.api } });
    const call = a.call('hang', ['closed']);
    await c.started.reach(1, 5000, 'handler running');
    t.is(b.activeSignals, 1);
    b.destroy(new Error('closing'));
    t.is(await withDeadline(c.abortedOnce, 5000, 'abort on close'), 'closed');
    await t.throwsAsync(call);
  });
}

test('currentCall() names the sender, and throws outside a handler', async (t) => {
  const seen: (string | undefined)[] = [];
  const api = {
    who() {
      seen.push(currentCall().from);
      return seen.at(-1);
    },
  };
  const { a } = await createPair(t, 'memory', { b: { api, peerName: 'alice' } });
  t.is(await a.call('who', []), 'alice');
  t.throws(() => currentCall());
});

test('one AbortSignal shared by many calls: one listener on it, no MaxListenersExceededWarning, and its abort rejects them all', async (t) => {
  const c = callee();
  const { a } = await createPair(t, 'memory', { b: { api: c.api } });
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  process.on('warning', onWarning);
  t.teardown(() => process.off('warning', onWarning));
  const controller = new AbortController();
  const remote = withOptions(createRemote<Api>(a), { signal: controller.signal });
  const calls = Array.from({ length: 50 }, (_, i) => remote.hang(`shared-${i}`));
  await c.started.reach(50, 5000, 'all handlers started');
  t.is(getEventListeners(controller.signal, 'abort').length, 1, 'one listener for all fifty calls');
  const reason = new Error('all of them');
  controller.abort(reason);
  for (const call of calls) await t.throwsAsync(call, { is: reason });
  await c.abortCount.reach(50, 5000, 'every handler saw its signal abort');
  // Node emits the warning on a later tick than the listener's addition: after a turn it would be here.
  await nextTurn();
  t.deepEqual(
    warnings.map((w) => w.name),
    [],
  );
});

test('a signal whose calls all settle without it aborting keeps no listener: nothing holds it (AbortSignal.timeout, AbortSignal.any)', async (t) => {
  const c = callee();
  const { a } = await createPair(t, 'memory', { b: { api: c.api } });
  const lasting = new AbortController();
  const signals = [lasting.signal, AbortSignal.timeout(600_000), AbortSignal.any([lasting.signal, new AbortController().signal])];
  for (const signal of signals) {
    const remote = withOptions(createRemote<Api>(a), { signal });
    const calls = Array.from({ length: 3 }, (_, i) => remote.quick(i));
    t.is(getEventListeners(signal, 'abort').length, 1, 'one listener while its calls are out');
    t.deepEqual(await withDeadline(Promise.all(calls), 5000, 'the calls'), [0, 1, 2]);
    t.is(getEventListeners(signal, 'abort').length, 0, 'none once they have settled');
  }
  // A signal whose listener was removed is watched anew by a later call.
  const again = withOptions(createRemote<Api>(a), { signal: lasting.signal }).hang('again');
  await c.started.reach(1, 5000, 'the handler started');
  lasting.abort(new Error('now'));
  await t.throwsAsync(again, { message: 'now' });
});

// Found by a review: the context was one object per responder, its signal read from the call that had
// started last: kept past an await, a timed-out call read `aborted: false`, and a call nobody cancelled
// read `true` once another was cancelled.
test('a context kept past an await is still its own call’s: its signal says whether that call was cancelled', async (t) => {
  const release = deferred();
  const contexts = new Map<string, ReturnType<typeof currentCall>>();
  const seen = new Map<string, boolean>();
  const started = new Counter();
  const { a, b } = await createPair(t, 'memory', {
    b: {
      api: {
        async keep(label: string) {
          const context = currentCall();
          contexts.set(label, context);
          started.add();
          await release.promise;
          seen.set(label, context.signal.aborted);
          return label;
        },
      },
    },
  });
  const remote = createRemote<{ keep(label: string): Promise<string> }>(a);
  const cancelled = withOptions(remote, { timeoutMs: 50 })
    .keep('cancelled')
    .catch((error: unknown) => error);
  const kept = remote.keep('not cancelled');
  await started.reach(2, 5000, 'both handlers started');
  t.true((await withDeadline(cancelled, 5000, 'the timeout')) instanceof TimeoutError);
  // The cancel reaches the callee: the first call's own signal aborts (the one kept since it started).
  const signal = contexts.get('cancelled')!.signal;
  await withDeadline(
    signal.aborted ? Promise.resolve() : new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true })),
    5000,
    'the cancelled call’s signal aborting',
  );
  release.resolve();
  t.is(await kept, 'not cancelled');
  await withDeadline(
    (async () => {
      while (!seen.has('cancelled')) await nextTurn();
    })(),
    5000,
    'the cancelled handler finishing',
  );
  t.deepEqual(Object.fromEntries(seen), { 'not cancelled': false, cancelled: true });
  t.is(b.activeSignals, 0, 'no signal kept past its call');
});

// From a review: its signal made on first read, a context whose call was cancelled while it ran, then
// finished, read `aborted: false` if it read its signal only after that.
test('a context read only after its call finished still says the call was cancelled', async (t) => {
  const release = deferred();
  const finished = deferred<ReturnType<typeof currentCall>>();
  const started = new Counter();
  const { a } = await createPair(t, 'memory', {
    b: {
      api: {
        async keep() {
          const context = currentCall();
          started.add();
          await release.promise;
          finished.resolve(context);
        },
        quick: () => 1,
      },
    },
  });
  const remote = createRemote<{ keep(): Promise<void>; quick(): number }>(a);
  const cancelled = withOptions(remote, { timeoutMs: 50 })
    .keep()
    .catch((error: unknown) => error);
  await started.reach(1, 5000, 'the handler started');
  t.true((await withDeadline(cancelled, 5000, 'the timeout')) instanceof TimeoutError);
  // The cancel went out before this call, on the same channel: it has been taken once this is answered.
  t.is(await remote.quick(), 1);
  release.resolve();
  const context = await withDeadline(finished.promise, 5000, 'the handler finishing');
  await nextTurn();
  t.true(context.signal.aborted, 'read after its call finished');
});
