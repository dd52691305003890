/**
 * Error fidelity across the wire (docs/semantics.md §10): a handler's error becomes RemoteError with the
 * original message, name, stack, own data and cause chain; unknown or non-own method names become
 * MethodNotFoundError. Checked over every transport, table-driven.
 */
import test from 'ava';
import { MethodNotFoundError, RemoteError, SerializationError } from '../src/errors.js';
import { Encoder } from '../src/protocol/codec.js';
import { Kind } from '../src/protocol/messages.js';
import { deferred, withDeadline } from './helpers/deadline.js';
import { TRANSPORT_KINDS, createPair } from './helpers/pairs.js';
import { failOnLeaks } from './helpers/leaks.js';

failOnLeaks(test);

class InsufficientFunds extends Error {
  readonly code = 'E_FUNDS';
  constructor(
    readonly account: string,
    readonly missing: number,
    options?: { cause?: unknown },
  ) {
    super(`Account ${account} is short by ${missing}`, options);
  }
}
Object.defineProperty(InsufficientFunds.prototype, 'name', { value: 'InsufficientFunds' });

interface Expected {
  message: string;
  remoteName: string;
  data: Record<string, unknown>;
  /** The expected cause chain, outermost first: [remoteName, message, data?] for errors, or a plain value. */
  causes: ReadonlyArray<readonly [string, string, Record<string, unknown>?] | { value: unknown }>;
}

const FIDELITY: ReadonlyArray<{ name: string; make: () => unknown; expected: Expected; async?: boolean }> = [
  {
    name: 'TypeError',
    make: () => new TypeError('not a number'),
    expected: { message: 'not a number', remoteName: 'TypeError', data: {}, causes: [] },
  },
  {
    name: 'RangeError, rejected by an async handler',
    async: true,
    make: () => new RangeError('too big'),
    expected: { message: 'too big', remoteName: 'RangeError', data: {}, causes: [] },
  },
  {
    name: 'custom class with code, extra own props and a cause chain',
    make: () => {
      const root = new TypeError('socket gone');
      const middle = Object.assign(new Error('ledger unavailable', { cause: root }), { code: 'E_LEDGER', retries: 3 });
      return Object.assign(new InsufficientFunds('acc-7', 42, { cause: middle }), { when: new Date(5), tags: new Set(['x']) });
    },
    expected: {
      message: 'Account acc-7 is short by 42',
      remoteName: 'InsufficientFunds',
      data: { code: 'E_FUNDS', account: 'acc-7', missing: 42, when: new Date(5), tags: new Set(['x']) },
      causes: [
        ['Error', 'ledger unavailable'],
        ['TypeError', 'socket gone'],
      ],
    },
  },
  {
    name: 'an error with a non-Error cause',
    make: () => new Error('wrapped', { cause: { status: 503 } }),
    expected: { message: 'wrapped', remoteName: 'Error', data: {}, causes: [{ value: { status: 503 } }] },
  },
  {
    // Once crashed the callee: errorToWire read the getter inside the frame handler.
    name: 'an error with an enumerable getter that throws, sent without that property',
    make: () =>
      Object.defineProperty(Object.assign(new Error('lazy'), { code: 'E_LAZY' }), 'details', {
        enumerable: true,
        get() {
          throw new Error('no details');
        },
      }),
    expected: { message: 'lazy', remoteName: 'Error', data: { code: 'E_LAZY' }, causes: [] },
  },
  {
    name: 'an error whose own data cannot be encoded (a function), sent without it',
    make: () => Object.assign(new Error('has a callback'), { code: 'E_CB', callback: () => 1 }),
    expected: { message: 'has a callback', remoteName: 'Error', data: { code: 'E_CB' }, causes: [] },
  },
  {
    // A review's: one function among its data cost the caller every property that was not a string,
    // number, boolean or null (here `when` and `details`, and the cause's `ids`).
    name: 'an error with a function beside other data, in it and in its cause, sent without the functions only',
    make: () => {
      const cause = Object.assign(new Error('below'), { ids: [1, 2], retry: () => 1 });
      return Object.assign(new Error('has a callback', { cause }), {
        code: 'E_CB',
        when: new Date(5),
        details: { a: [1] },
        callback: () => 1,
      });
    },
    expected: {
      message: 'has a callback',
      remoteName: 'Error',
      data: { code: 'E_CB', when: new Date(5), details: { a: [1] } },
      causes: [['Error', 'below', { ids: [1, 2] }]],
    },
  },
  {
    // The same for a cause that is not an error: it lost all of itself for one function.
    name: 'an error whose non-error cause holds a function, sent without the function',
    make: () => new Error('wrapped', { cause: { status: 503, headers: { retry: '5' }, onRetry: () => 1 } }),
    expected: { message: 'wrapped', remoteName: 'Error', data: {}, causes: [{ value: { status: 503, headers: { retry: '5' } } }] },
  },
];

for (const kind of TRANSPORT_KINDS) {
  for (const { name, make, expected, async } of FIDELITY) {
    test(`${kind}: ${name} → RemoteError with message, remoteName, remoteStack, data, cause`, async (t) => {
      let thrown: unknown;
      const api = {
        fail() {
          thrown = make();
          if (async) return Promise.reject(thrown);
          throw thrown;
        },
      };
      const { a } = await createPair(t, kind, { b: { api } });
      const error = await t.throwsAsync(withDeadline(a.call('fail', []), 5000, 'fail'), { instanceOf: RemoteError });
      const remote = error as RemoteError;
      t.is(remote.code, 'ERR_CONVOY_REMOTE');
      t.true(remote instanceof Error);
      t.is(remote.message, expected.message);
      t.is(remote.remoteName, expected.remoteName);
      t.is(remote.remoteStack, (thrown as Error).stack);
      t.deepEqual(remote.data, expected.data);
      let cause: unknown = remote.cause;
      for (const link of expected.causes) {
        if ('value' in link) {
          t.deepEqual(cause, link.value);
          cause = undefined;
          break;
        }
        t.true(cause instanceof RemoteError, `cause ${link[1]}`);
        t.is((cause as RemoteError).remoteName, link[0]);
        t.is((cause as RemoteError).message, link[1]);
        t.is(typeof (cause as RemoteError).remoteStack, 'string');
        if (link[2]) t.deepEqual((cause as RemoteError).data, link[2]);
        cause = (cause as RemoteError).cause;
      }
      t.is(cause, undefined, 'no extra cause');
    });
  }

  test(`${kind}: a non-Error throw value becomes RemoteError carrying the value`, async (t) => {
    const api = {
      fail() {
        throw { status: 'weird' }; // eslint-disable-line no-throw-literal
      },
      failString() {
        throw 'just a string'; // eslint-disable-line no-throw-literal
      },
    };
    const { a } = await createPair(t, kind, { b: { api } });
    const error = (await t.throwsAsync(a.call('fail', []), { instanceOf: RemoteError })) as RemoteError;
    t.deepEqual(error.cause, { status: 'weird' });
    const text = (await t.throwsAsync(a.call('failString', []), { instanceOf: RemoteError })) as RemoteError;
    t.true(text.message.includes('just a string'));
  });

  test(`${kind}: an error with a non-string name still travels (as its string), and the channel goes on`, async (t) => {
    const api = {
      fail() {
        throw Object.defineProperty(new Error('odd name'), 'name', { value: 42 });
      },
      ok: () => 'fine',
    };
    const { a } = await createPair(t, kind, { b: { api } });
    const error = (await t.throwsAsync(withDeadline(a.call('fail', []), 5000, 'fail'), { instanceOf: RemoteError })) as RemoteError;
    t.is(error.remoteName, '42');
    t.is(error.message, 'odd name');
    t.is(await a.call('ok', []), 'fine');
  });

  test(`${kind}: unknown and non-own method names reject with MethodNotFoundError, and the channel goes on`, async (t) => {
    class Api {
      fromPrototype() {
        return 'inherited';
      }
    }
    const api = Object.assign(new Api(), { own: () => 'own', notAFunction: 42 });
    const { a } = await createPair(t, kind, { b: { api } });
    for (const method of [
      'missing',
      'toString',
      'constructor',
      '__proto__',
      'hasOwnProperty',
      'valueOf',
      '__defineGetter__',
      'notAFunction',
      'fromPrototype',
      '',
    ]) {
      const error = await t.throwsAsync(a.call(method, []), { instanceOf: MethodNotFoundError }, method);
      t.is(error?.code, 'ERR_CONVOY_NO_METHOD');
      t.is((error as MethodNotFoundError).method, method);
    }
    t.is(await a.call('own', []), 'own');
  });

  test(`${kind}: each name reaches its own handler, whatever was called before it (the empty name and a missing one included)`, async (t) => {
    const api = { '': () => 'empty', a: () => 'a', b: () => 'b' };
    const { a } = await createPair(t, kind, { b: { api } });
    const sequence = ['', '', 'a', 'a', 'b', 'missing', 'b', 'a', '', 'missing', 'missing', 'a'];
    const results = await Promise.allSettled(sequence.map((method) => a.call(method, [])));
    t.deepEqual(
      results.map((result) => (result.status === 'fulfilled' ? result.value : (result.reason as Error).constructor.name)),
      sequence.map((method) => (method === 'missing' ? 'MethodNotFoundError' : method || 'empty')),
    );
  });

  test(`${kind}: a throwing or unknown notify reaches onNotifyError on the receiver, and nothing else`, async (t) => {
    const reported: [string, Error][] = [];
    const two = deferred();
    const api = {
      boom() {
        throw new TypeError('notify failed');
      },
      ok: () => 'fine',
    };
    const onNotifyError = (error: Error, method: string): void => {
      reported.push([method, error]);
      if (reported.length === 2) two.resolve();
    };
    const { a } = await createPair(t, kind, { b: { api, onNotifyError } });
    await a.notify('boom', []);
    await a.notify('nope', []);
    await withDeadline(two.promise, 5000, 'two notify errors');
    t.is(reported[0]![0], 'boom');
    t.true(reported[0]![1] instanceof TypeError);
    t.is(reported[1]![0], 'nope');
    t.true(reported[1]![1] instanceof MethodNotFoundError);
    t.is(await a.call('ok', []), 'fine');
  });
}

test('an onNotifyError that throws does not escape into the delivery: the warning names both errors, and the notifies behind it are served once, in order', async (t) => {
  const seen: number[] = [];
  const api = {
    note(seq: number) {
      seen.push(seq);
      if (seq === 2) throw new TypeError('notify failed');
    },
    ok: () => 'fine',
  };
  const onNotifyError = (): void => {
    throw new Error('the hook failed');
  };
  const warned = deferred<Error>();
  const onWarning = (warning: Error): void => {
    if (warning.name === 'ConvoyNotifyWarning') warned.resolve(warning);
  };
  process.on('warning', onWarning);
  t.teardown(() => process.off('warning', onWarning));
  const { a } = await createPair(t, 'memory', { b: { api, onNotifyError } });
  // Primitive arguments: the six cross in one run, so the hook throws in the middle of one.
  for (let seq = 0; seq < 6; seq++) void a.notify('note', [seq]);
  t.is(await withDeadline(a.call('ok', []), 5000, 'a call behind the notifies'), 'fine');
  t.deepEqual(seen, [0, 1, 2, 3, 4, 5]);
  const warning = await withDeadline(warned.promise, 5000, 'the warning');
  t.regex(warning.message, /onNotifyError threw/);
  t.regex(warning.message, /the hook failed/);
  t.regex(warning.message, /notify failed/);
});

test("convoy's verdict on a call keeps its class; the same errors from a handler's own calls arrive as RemoteError", async (t) => {
  // b's handlers call back into a (A→B→A) and let convoy's errors about *their* calls escape.
  let b!: Awaited<ReturnType<typeof createPair>>['b'];
  const api = {
    callsMissing: () => b.call('missing', []),
    sendsFunction: () => b.call('echo', [() => 1]),
    returnsFunction: () => () => 1,
  };
  const pair = await createPair(t, 'memory', { a: { api: { echo: (x: unknown) => x } }, b: { api } });
  b = pair.b;
  const { a } = pair;

  // About the caller's own call: the class says what went wrong with it.
  await t.throwsAsync(withDeadline(a.call('missing', []), 5000, 'missing'), { instanceOf: MethodNotFoundError });
  await t.throwsAsync(withDeadline(a.call('returnsFunction', []), 5000, 'result'), {
    instanceOf: SerializationError,
    message: /returnsFunction/,
  });

  // From inside the handler: not a verdict on the caller's call, so a RemoteError that still names the cause.
  const missing = await t.throwsAsync(withDeadline(a.call('callsMissing', []), 5000, 'nested missing'), { instanceOf: RemoteError });
  t.is((missing as RemoteError).remoteName, 'MethodNotFoundError');
  t.is((missing as RemoteError).data.code, 'ERR_CONVOY_NO_METHOD');
  const unsendable = await t.throwsAsync(withDeadline(a.call('sendsFunction', []), 5000, 'nested serialize'), { instanceOf: RemoteError });
  t.is((unsendable as RemoteError).remoteName, 'SerializationError');
  t.is((unsendable as RemoteError).data.code, 'ERR_CONVOY_SERIALIZE');
});

test('an argument that cannot be sent fails its call or notify with a SerializationError naming the method, whom it was for and what', async (t) => {
  const pair = await createPair(t, 'memory', { b: { api: { echo: (x: unknown) => x } } });
  const { a } = pair;
  const cause = { instanceOf: SerializationError };
  const call = await t.throwsAsync(a.call('echo', [Symbol('s')]), {
    ...cause,
    message: 'The arguments of `echo` cannot be sent to worker "b": A symbol cannot be sent',
  });
  t.true(call?.cause instanceof SerializationError, "the codec's own error is its cause");
  await t.throwsAsync(a.notify('echo', [{ f: () => 1 }]), {
    ...cause,
    message: 'The arguments of `echo` cannot be sent to worker "b": A function cannot be sent',
  });
  t.is(await withDeadline(a.call('echo', [1]), 5000, 'a later call'), 1, 'the channel goes on');
});

test('a message that leaves less than its header room in maxFrameBytes is refused, and the message says why', async (t) => {
  const maxFrameBytes = 1024;
  const { a } = await createPair(t, 'memory', { channel: { maxFrameBytes }, b: { api: { echo: (x: unknown) => x } } });
  // A call's bytes for an argument of `n` characters (its id, 1, takes one byte as every id below 64 does).
  const callBytes = (n: number) => new Encoder().encode([Kind.Call, 1, 'echo', ['x'.repeat(n)]]).length;
  let n = 0;
  while (callBytes(n + 1) <= maxFrameBytes - 64) n++;
  t.is(callBytes(n), maxFrameBytes - 64, 'an argument that fills the frame to its header room exactly');
  t.is((await withDeadline(a.call('echo', ['x'.repeat(n)]), 5000, 'the largest call')) as string, 'x'.repeat(n));
  await t.throwsAsync(a.call('echo', ['x'.repeat(n + 1)]), {
    instanceOf: SerializationError,
    message: `The arguments of \`echo\` cannot be sent to worker "b": Message of ${callBytes(n + 1)} bytes does not fit in a frame of maxFrameBytes (1024), which keeps 64 bytes for its header; raise maxFrameBytes on the cluster to send it`,
  });
});

// Found by a review: the fallback sent the error's strings uncut and threw too, out of the responder where
// nothing catches it: the whole process died of a handler's error (a coordinator's exposed handler too).
for (const maxFrameBytes of [1 << 20, 4096]) {
  test(`an error too large for a frame (maxFrameBytes ${maxFrameBytes}) reaches its caller cut short; the callee and its channel live on`, async (t) => {
    const big = 'x'.repeat(2 << 20);
    const { a } = await createPair(t, 'memory', {
      channel: { maxFrameBytes },
      b: {
        api: {
          syncThrow: () => {
            throw Object.assign(new RangeError(big), { code: 'E_QUOTA' });
          },
          // Small, but its data holds what the codec refuses: sent as plain values, its message whole.
          unsendableData: () => {
            throw Object.assign(new TypeError('m'.repeat(20_000)), { code: 'E_DATA', retry: () => 1 });
          },
          asyncThrow: async () => {
            throw new RangeError(big);
          },
          ping: () => 'pong',
        },
      },
    });
    for (const method of ['syncThrow', 'asyncThrow']) {
      const error = await t.throwsAsync(withDeadline(a.call(method, []), 5000, method), { instanceOf: RemoteError });
      t.true(error!.message.length < 20_000, `${method}: ${error!.message.length} characters`);
      t.true(
        error!.message.startsWith('x') || error!.message.includes('failed with an error too large to send'),
        error!.message.slice(0, 200),
      );
      t.is(error!.remoteName, 'RangeError', 'its class name kept');
    }
    const quota = (await t.throwsAsync(a.call('syncThrow', []))) as RemoteError;
    t.is(quota.data.code, 'E_QUOTA', 'its code kept, even at the shortest');
    if (maxFrameBytes > 100_000) {
      const plain = (await t.throwsAsync(a.call('unsendableData', []))) as RemoteError;
      t.is(plain.message.length, 20_000, 'a fault that fits is not cut, only made plain');
      t.is(plain.data.code, 'E_DATA');
    }
    t.is(await a.call('ping', []), 'pong');
  });
}
