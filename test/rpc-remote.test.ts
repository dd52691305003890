/**
 * The typed proxies (the Remote<T> rules in src/rpc/remote.ts): memoized methods, no `then` (so `await
 * remote` does not hang), no symbol keys, and `notify(remote)` whose promises are marked handled.
 */
import { inspect } from 'node:util';
import test from 'ava';
import { ChannelFullError, MethodNotFoundError, SerializationError } from '../src/errors.js';
import { createRemote, notify, withOptions, type Remote } from '../src/rpc/remote.js';
import { Counter, nextTurn, withDeadline } from './helpers/deadline.js';
import { TRANSPORT_KINDS, createPair } from './helpers/pairs.js';
import { failOnLeaks } from './helpers/leaks.js';

failOnLeaks(test);

interface CounterApi {
  inc(by: number): number;
  get(): Promise<number>;
  log(line: string): void;
}

function counterApi() {
  let n = 0;
  const lines: string[] = [];
  const logged = new Counter();
  const api: CounterApi = {
    inc: (by) => (n += by),
    get: async () => n,
    log(line) {
      lines.push(line);
      logged.add();
    },
  };
  return { api, lines, logged };
}

/**
 * Runs `body` with only our own 'unhandledRejection' listener installed (ava's is put back after), so a
 * deliberate unhandled rejection can serve as a positive control without failing the run. `body` returns
 * that control promise (boxed, so `await` does not adopt it); it is handled before this returns.
 */
async function watchUnhandledRejections(body: () => Promise<{ control: Promise<unknown> }>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const mine = (reason: unknown): void => void seen.push(reason);
  const theirs = process.listeners('unhandledRejection');
  process.removeAllListeners('unhandledRejection');
  process.on('unhandledRejection', mine);
  let control: Promise<unknown> | undefined;
  try {
    ({ control } = await body());
    // Node reports unhandled rejections after the microtask queue drains; a few turns cover every path.
    for (let i = 0; i < 3; i++) await nextTurn();
  } finally {
    control?.catch(() => {});
    await nextTurn();
    process.off('unhandledRejection', mine);
    for (const listener of theirs) process.on('unhandledRejection', listener);
  }
  return seen;
}

test('a method the API only inherits from its class is not served, and the error says why', async (t) => {
  class Api {
    inc(by: number): number {
      return by + 1;
    }
  }
  const { a } = await createPair(t, 'memory', { b: { api: new Api() } });
  const remote = createRemote<Api>(a);
  const error = await withDeadline(
    remote.inc(1).catch((e: unknown) => e),
    5000,
    'the fault',
  );
  t.true(error instanceof MethodNotFoundError);
  t.regex((error as Error).message, /No method `inc` .*: it is a method of class Api, and only the API object's own methods are served/);
  // A name nothing has, and one only Object.prototype has, get no such hint.
  for (const name of ['nope', 'toString']) {
    const other = await withDeadline(
      (remote as unknown as Record<string, () => Promise<unknown>>)[name]!().catch((e: unknown) => e),
      5000,
      name,
    );
    t.true(other instanceof MethodNotFoundError);
    t.false((other as Error).message.includes('only the API'), (other as Error).message);
  }
});

test('methods are memoized: the same function each time, per remote', async (t) => {
  const { a } = await createPair(t, 'memory', { b: { api: counterApi().api } });
  const remote = createRemote<CounterApi>(a);
  t.is(remote.inc, remote.inc);
  t.is(typeof remote.inc, 'function');
  t.not(createRemote<CounterApi>(a).inc, remote.inc, 'another remote has its own methods');
  const notifier = notify(remote);
  t.is(notify(remote), notifier, 'notify(remote) is memoized');
  t.is(notifier.log, notifier.log);
});

test('`then` is undefined, so awaiting a remote resolves to the remote itself', async (t) => {
  const { a } = await createPair(t, 'memory', { b: { api: counterApi().api } });
  const remote = createRemote<CounterApi>(a);
  t.is((remote as unknown as { then?: unknown }).then, undefined);
  const awaited = await withDeadline(Promise.resolve(remote), 1000, 'await remote');
  t.is(awaited, remote);
  t.is((notify(remote) as unknown as { then?: unknown }).then, undefined);
  t.is(await withDeadline(Promise.resolve(notify(remote)), 1000, 'await notifier'), notify(remote));
});

test('symbol keys are local: iteration is undefined, coercion to a string gives the label; inspection names the peer', async (t) => {
  const { a } = await createPair(t, 'memory', { b: { api: counterApi().api } });
  const remote = createRemote<CounterApi>(a);
  const keyed = remote as unknown as Record<symbol, unknown>;
  for (const key of [Symbol.iterator, Symbol.asyncIterator, Symbol.toStringTag]) {
    t.is(keyed[key], undefined, String(key));
  }
  // Without a local Symbol.toPrimitive, coercion would call the worker's `toString` and `valueOf`, get
  // promises, throw a TypeError, and leave two rejected calls unhandled.
  t.is(`${remote}`, '[Remote: b]');
  t.is(String(remote), '[Remote: b]');
  t.is(String(notify(remote)), '[Notifier: b]');
  t.is(a.counts.calls + a.counts.notifies, 0, 'coercion made no call');
  t.is(inspect(remote), '[Remote: b]');
  await remote.inc(1);
  t.is(
    inspect({ peer: remote, notifier: notify(remote) }),
    '{ peer: [Remote: b], notifier: [Notifier: b] }',
    'also once a method was used',
  );
  t.is(inspect(withOptions(remote, { timeoutMs: 1000 })), '[Remote: b]');
  t.is(a.counts.calls, 1, 'inspection made no call');
});

test('a remote cannot be written to, before or after a method is used, and lists no keys', async (t) => {
  const { a } = await createPair(t, 'memory', { b: { api: counterApi().api } });
  const remote = createRemote<CounterApi>(a) as unknown as Record<string, unknown>;
  const replacement = (): number => 0;
  t.throws(
    () => {
      remote.inc = replacement;
    },
    { instanceOf: TypeError },
  );
  const inc = remote.inc;
  for (const write of [
    () => {
      remote.inc = replacement;
    },
    () => {
      delete remote.inc;
    },
    () => {
      remote.other = replacement;
    },
  ]) {
    t.throws(write, { instanceOf: TypeError });
  }
  t.is(remote.inc, inc, 'the method is the one made on first use');
  t.is(await (remote.inc as (by: number) => Promise<number>)(2), 2);
  t.deepEqual(Object.keys(remote), []);
  t.is(remote.then, undefined, 'still no then, after a method was used');
});

test('notify() and withOptions() refuse objects that are not convoy remotes', (t) => {
  t.throws(() => notify({} as Remote<CounterApi>), { instanceOf: TypeError });
  t.throws(() => withOptions({} as Remote<CounterApi>, { timeoutMs: 1 }), { instanceOf: TypeError });
});

test('withOptions() checks its options at once: unknown keys (with the closest known one), a bad timeoutMs or signal', (t) => {
  const remote = createRemote<CounterApi>({ call: async () => 1, notify: async () => undefined });
  const bad: [unknown, RegExp][] = [
    [{ timeout: 500 }, /Unknown option `timeout` in withOptions\(\) options; did you mean `timeoutMs`\?/],
    [{ timeoutMs: -1 }, /Expected `timeoutMs` to be a finite number >= 0 and <= 2147483647 .*, got -1/],
    [{ timeoutMs: '500' }, /Expected `timeoutMs` to be a finite number >= 0 and <= 2147483647 .*, got "500"/],
    [{ timeoutMs: Number.NaN }, /Expected `timeoutMs`/],
    // A longer one would fire after 1 ms: a timeout meant as "practically never" timed the call out at once.
    [
      { timeoutMs: 2 ** 31 },
      /Expected `timeoutMs` to be a finite number >= 0 and <= 2147483647 \(the longest timer Node sets, about 24.8 days\), got 2147483648/,
    ],
    [{ signal: {} }, /Expected `signal` to be an AbortSignal/],
    [null, /Expected withOptions\(\)'s options to be an object/],
  ];
  for (const [options, message] of bad) {
    t.throws(() => withOptions(remote, options as never), { instanceOf: TypeError, message }, JSON.stringify(options));
  }
  t.notThrows(() => withOptions(remote, { timeoutMs: 0, signal: new AbortController().signal }));
  t.notThrows(() => withOptions(remote, { timeoutMs: 2 ** 31 - 1 }));
  t.notThrows(() => withOptions(remote, {}));
});

test('serialising a remote calls nothing: it has no toJSON, and JSON.stringify gives an empty object', async (t) => {
  const calls: string[] = [];
  const remote = createRemote<CounterApi>({
    call: async (method) => void calls.push(method),
    notify: async (method) => void calls.push(method),
  }) as unknown as Record<string, unknown>;
  t.is(remote.toJSON, undefined);
  t.is(JSON.stringify({ remote, notifier: notify(remote as unknown as Remote<CounterApi>) }), '{"remote":{},"notifier":{}}');
  t.deepEqual(calls, []);
});

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: a remote cannot be sent, as an argument (at any depth) or a result: SerializationError for that call alone, nothing runs`, async (t) => {
    const ran: string[] = [];
    const api = {
      take: (value: unknown) => void ran.push(`take ${JSON.stringify(value)}`),
      toJSON: () => void ran.push('toJSON'),
      give: () => remote,
      ok: () => 'ok',
    };
    const { a } = await createPair(t, kind, { b: { api } });
    const remote = createRemote<typeof api>(a);
    for (const argument of [remote, { nested: [remote] }, notify(remote), withOptions(remote, { timeoutMs: 1000 })]) {
      await t.throwsAsync((remote.take as (value: unknown) => Promise<void>)(argument), {
        instanceOf: SerializationError,
        message: /A remote \(the proxy to a worker\) cannot be sent/,
      });
    }
    await t.throwsAsync((notify(remote).take as (value: unknown) => Promise<void>)(remote), { instanceOf: SerializationError });
    // Returned by a handler (the peer's own remote): that call fails, as any result that cannot be encoded.
    const refused = await t.throwsAsync(remote.give());
    t.regex(refused.message, /cannot be encoded: A remote \(the proxy to a worker\) cannot be sent/);
    t.is(await remote.ok(), 'ok', 'the channel goes on');
    t.deepEqual(ran, []);
  });

  test(`${kind}: a getter of an argument that sends while it is encoded (on the same channel or another) fails that send alone; the outer call and both channels go on`, async (t) => {
    const ran: unknown[] = [];
    const api = { take: (value: unknown) => value, note: (value: unknown) => void ran.push(value) };
    const { a } = await createPair(t, kind, { b: { api } });
    const { a: elsewhere } = await createPair(t, kind, { b: { api } });
    const remote = createRemote<typeof api>(a);
    const other = createRemote<typeof api>(elsewhere);
    const inner: Promise<unknown>[] = [];
    // Small and large (past 1000 bytes, where the encoded value is walked again for its depth), plain and not.
    const padding = 'p'.repeat(1200);
    for (const target of [remote, other]) {
      for (const noted of [1, { nested: [1, { deep: true }] }]) {
        for (const pad of ['', padding]) {
          const argument = {
            pad,
            get x() {
              inner.push(target.note(noted));
              inner.push(notify(target).note(noted));
              return 5;
            },
          };
          t.deepEqual(await remote.take(argument), { pad, x: 5 });
        }
      }
    }
    t.true(inner.length >= 16);
    for (const result of await Promise.allSettled(inner)) {
      t.is(result.status, 'rejected');
      t.true((result as PromiseRejectedResult).reason instanceof SerializationError);
      t.regex((result as PromiseRejectedResult).reason.message, /while another is being encoded/);
    }
    t.deepEqual(await remote.take([2]), [2], 'the channel goes on');
    t.deepEqual(await other.take([3]), [3], 'so does the other');
    t.deepEqual(ran, []);
  });

  test(`${kind}: calls and notifies through the proxies reach the API, in one order`, async (t) => {
    const { api, lines } = counterApi();
    const { a } = await createPair(t, kind, { b: { api } });
    const remote = createRemote<CounterApi>(a);
    const n = notify(remote);
    t.is(await remote.inc(2), 2);
    const accepted = n.log('first');
    t.true(accepted instanceof Promise);
    t.is(await accepted, undefined);
    void n.log('second');
    t.is(await remote.inc(3), 5);
    t.is(await remote.get(), 5);
    t.deepEqual(lines, ['first', 'second']);
    // A notify through a remote with options goes over the same channel.
    await notify(withOptions(remote, { timeoutMs: 1000 })).log('third');
    t.is(await remote.inc(0), 5);
    t.deepEqual(lines, ['first', 'second', 'third']);
  });

  test.serial(
    `${kind}: fire-and-forget notify on a closed channel causes no unhandled rejection; awaiting it still sees the error`,
    async (t) => {
      const { api } = counterApi();
      const { a } = await createPair(t, kind, { channel: { maxQueuedBytes: 256 }, b: { api } });
      const n = notify(createRemote<CounterApi>(a));
      const unhandled = await watchUnhandledRejections(async () => {
        // Some notifies wait for room; the channel closes under them; more are sent after the close.
        for (let i = 0; i < 50; i++) void n.log('x'.repeat(100));
        t.true(a.channel.waiting > 0);
        a.destroy(new Error('gone'));
        for (let i = 0; i < 10; i++) void n.log('after close');
        await t.throwsAsync(n.log('awaited'), { message: 'gone' });
        // Positive control: a rejection nobody handles is seen, so silence about the others means something.
        return { control: Promise.reject(new Error(`control ${kind}`)) };
      });
      t.deepEqual(
        unhandled.map((e) => (e as Error).message),
        [`control ${kind}`],
      );
    },
  );

  test(`${kind}: backpressure 'reject' rejects notify and call with ChannelFullError, handled for fire-and-forget`, async (t) => {
    const { api, lines, logged } = counterApi();
    const { a, b } = await createPair(t, kind, {
      channel: { maxQueuedBytes: 300, backpressure: 'reject' },
      a: { api: { sync: () => true } },
      b: { api },
    });
    const n = notify(createRemote<CounterApi>(a));
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => n.log(`${i}`.padEnd(100, '.'))));
    const rejected = results.filter((r) => r.status === 'rejected');
    t.true(rejected.length > 0);
    for (const r of rejected) {
      t.true((r as PromiseRejectedResult).reason instanceof ChannelFullError);
      t.is(((r as PromiseRejectedResult).reason as ChannelFullError).code, 'ERR_CONVOY_BACKPRESSURE');
    }
    await t.throwsAsync(a.call('log', ['y'.repeat(100)]), { instanceOf: ChannelFullError });
    // What was accepted still arrives, in order.
    const accepted = results.flatMap((r, i) => (r.status === 'fulfilled' ? [`${i}`.padEnd(100, '.')] : []));
    await logged.reach(accepted.length, 5000, 'accepted notifies handled');
    t.deepEqual(lines, accepted);
    // Once the receiver's ack is back (it travels ahead of b's next message to a), there is room again.
    t.true(await withDeadline(b.call('sync', []), 5000, 'sync'));
    t.is(await withDeadline(a.call('log', ['z'.repeat(100)]), 5000, 'call after acks'), undefined);
  });
}

test("convoy's own calls and notifies (NUL-prefixed methods) are not in the endpoint's counts; the user's are", async (t) => {
  const { a, b } = await createPair(t, 'memory', {
    a: { api: { ping: () => 'pong' } },
    b: { api: { ping: () => 'pong' }, system: { '\0stats': () => 'internal', '\0note': () => undefined } },
  });
  t.is(await a.call('\0stats', []), 'internal');
  await a.notify('\0note', []);
  t.deepEqual([a.counts.calls, a.counts.notifies, a.counts.replies], [0, 0, 0]);
  t.is(await a.call('ping', []), 'pong');
  await a.notify('ping', []);
  t.is(await a.call('ping', []), 'pong', 'the notify before it was served');
  t.deepEqual([a.counts.calls, a.counts.notifies, a.counts.replies], [2, 1, 2]);
  t.is(b.counts.served, 3);
});

// A review's: a notify the endpoint refused (an argument it cannot encode, a full channel under
// backpressure 'reject') was counted as sent; calls refused the same way were not.
test('a notify refused as it is sent is not counted: its argument, or a full channel under backpressure reject', async (t) => {
  const { a } = await createPair(t, 'memory', {
    channelA: { backpressure: 'reject', maxQueuedBytes: 300 },
    a: { api: {} },
    b: { api: { note: () => undefined } },
  });
  await t.throwsAsync(a.notify('note', [() => 1]), { code: 'ERR_CONVOY_SERIALIZE' });
  await t.throwsAsync(a.call('note', [() => 1]), { code: 'ERR_CONVOY_SERIALIZE' });
  t.deepEqual([a.counts.calls, a.counts.notifies], [0, 0]);
  const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => a.notify('note', [`${i}`.padEnd(100, '.')])));
  const refused = results.filter((r) => r.status === 'rejected');
  t.true(refused.length > 0, 'the channel filled');
  t.true(refused.every((r) => (r.reason as { code?: string }).code === 'ERR_CONVOY_BACKPRESSURE'));
  t.is(a.counts.notifies, 10 - refused.length);
});

// The same review: each distinct name read on a remote became a property of it for good.
test('a remote keeps its first 1024 method names as its own properties; further names still call, and are not kept', async (t) => {
  const { a } = await createPair(t, 'memory', { b: { api: {} } });
  const remote = createRemote<Record<string, () => Promise<unknown>>>(a);
  const calls = Array.from({ length: 1100 }, (_, i) => remote[`m${i}`]!().catch((error: { code?: string }) => error.code));
  t.deepEqual(new Set(await Promise.all(calls)), new Set(['ERR_CONVOY_NO_METHOD']));
  t.is(Object.getOwnPropertyNames(remote).length, 1024);
  t.is(remote.m0, remote.m0, 'a kept method is the same function each time');
  t.not(remote.m1099, remote.m1099, 'a further one is made on each read');
});
