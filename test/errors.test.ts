import test from 'ava';
import { System } from '../src/protocol/control.js';
import {
  ChannelFullError,
  ClusterClosedError,
  ConvoyError,
  type ConvoyErrorCode,
  MethodNotFoundError,
  ProtocolError,
  RemoteError,
  SerializationError,
  TimeoutError,
  WorkerDiedError,
  WorkerStartError,
  describe,
  errorFromWire,
  errorToWire,
  ownErrorToWire,
  deathErrorToWire,
  plainWireError,
  stripForHandOff,
  toError,
} from '../src/errors.js';
import * as convoy from '../src/index.js';

const CLASSES: ReadonlyArray<[string, () => ConvoyError, ConvoyErrorCode]> = [
  ['WorkerDiedError', () => new WorkerDiedError({ worker: 'w', reason: 'crash' }), 'ERR_CONVOY_WORKER_DIED'],
  ['RemoteError', () => new RemoteError('boom', { remoteName: 'TypeError' }), 'ERR_CONVOY_REMOTE'],
  ['MethodNotFoundError', () => new MethodNotFoundError('nope'), 'ERR_CONVOY_NO_METHOD'],
  ['SerializationError', () => new SerializationError('bad'), 'ERR_CONVOY_SERIALIZE'],
  ['TimeoutError', () => new TimeoutError('slow', 10), 'ERR_CONVOY_TIMEOUT'],
  ['ClusterClosedError', () => new ClusterClosedError(), 'ERR_CONVOY_CLOSED'],
  ['ProtocolError', () => new ProtocolError('garbage'), 'ERR_CONVOY_PROTOCOL'],
  ['ChannelFullError', () => new ChannelFullError(10, 1, { maxQueuedBytes: 5, maxInFlight: 1 }), 'ERR_CONVOY_BACKPRESSURE'],
];

for (const [name, make, code] of CLASSES) {
  test(`${name}: code ${code}, instanceof Error and ConvoyError, name and export`, (t) => {
    const error = make();
    t.true(error instanceof Error);
    t.true(error instanceof ConvoyError);
    t.is(error.code, code);
    t.is(error.name, name);
    t.is(typeof error.stack, 'string');
    t.true(error.message.length > 0);
    // Every class is part of the public entry point under its own name.
    t.is((convoy as Record<string, unknown>)[name], error.constructor);
  });
}

test('codes are unique across classes', (t) => {
  const codes = CLASSES.map(([, make]) => make().code);
  t.is(new Set(codes).size, codes.length);
});

test('WorkerDiedError keeps worker, reason, exit details, and forMethod names the call', (t) => {
  const cause = new Error('socket reset');
  const died = new WorkerDiedError({ worker: 'shard-1', reason: 'exit', exitCode: 3 }, { cause });
  t.like(died, { worker: 'shard-1', reason: 'exit', exitCode: 3, cause });
  t.is(died.signal, undefined);
  t.true(died.message.includes('shard-1') && died.message.includes('3'));
  const killed = new WorkerDiedError({ worker: 'b', reason: 'killed', signal: 'SIGKILL' });
  const forCall = killed.forMethod('inc');
  t.true(forCall instanceof WorkerDiedError);
  t.like(forCall, { worker: 'b', reason: 'killed', signal: 'SIGKILL', code: 'ERR_CONVOY_WORKER_DIED' });
  t.true(forCall.message.includes('`inc`'));
  t.not(forCall, killed);
  t.is(died.forMethod('inc').cause, cause, 'the cause of the death is the cause of each call it fails');
});

test('WorkerDiedError names the uncaught error a worker crashed with, keeps it as its cause, and passes it to each call', (t) => {
  const uncaught = new RemoteError('balance went negative\n  at line 2', { remoteName: 'RangeError' });
  const died = new WorkerDiedError({ worker: 'bank', reason: 'crash', exitCode: 1, error: uncaught }, { cause: new Error('socket reset') });
  t.is(died.message, 'Worker "bank" died: crash (exit code 1), uncaught RangeError: balance went negative');
  t.is(died.cause, uncaught);
  const forCall = died.forMethod('transfer');
  t.is(forCall.cause, uncaught);
  t.is(
    forCall.message,
    'Worker "bank" died during the call to `transfer`: crash (exit code 1), uncaught RangeError: balance went negative; the call may or may not have run',
  );
  // A long message is cut short: the cause holds it whole.
  const long = new WorkerDiedError({ worker: 'w', reason: 'crash', error: new TypeError('x'.repeat(1000)) });
  t.true(long.message.endsWith(`uncaught TypeError: ${'x'.repeat(226)}...`), long.message);
  t.is((long.cause as Error).message.length, 1000);
});

test('a disconnected WorkerDiedError says the worker was cut off (not that it died) and names what ended the channel, for itself and each call it fails; other deaths do not', (t) => {
  const reset = new ProtocolError('NATS transport reset by "receiver": its NATS connection was lost (ECONNRESET)\nmore');
  const lost = new WorkerDiedError({ worker: 'receiver', reason: 'disconnected' }, { cause: reset });
  t.is(
    lost.message,
    'Worker "receiver" was cut off: disconnected, ProtocolError: NATS transport reset by "receiver": its NATS connection was lost (ECONNRESET)',
  );
  t.is(lost.cause, reset);
  t.is(
    lost.forMethod('record').message,
    'Worker "receiver" was cut off during the call to `record`: disconnected, ProtocolError: NATS transport reset by "receiver": its NATS connection was lost (ECONNRESET); the call may or may not have run',
  );
  t.is(
    lost.forMethod('record', { sent: false }).message,
    'Worker "receiver" had been cut off (disconnected, ProtocolError: NATS transport reset by "receiver": its NATS connection was lost (ECONNRESET)) when `record` was called: the call was not sent and did not run',
  );
  // A death that was reported first is not said twice; a kill or a hang is ours, its transport's end says nothing more.
  t.is(new WorkerDiedError({ worker: 'w', reason: 'disconnected' }, { cause: lost }).message, 'Worker "w" was cut off: disconnected');
  t.is(new WorkerDiedError({ worker: 'w', reason: 'killed' }, { cause: reset }).message, 'Worker "w" died: killed');
  t.is(new WorkerDiedError({ worker: 'w', reason: 'disconnected' }).message, 'Worker "w" was cut off: disconnected');
});

test('TimeoutError names the method, the worker and the time', (t) => {
  const error = new TimeoutError('slowMethod', 250, 'worker-a');
  t.like(error, { method: 'slowMethod', timeoutMs: 250 });
  for (const part of ['slowMethod', 'worker-a', '250']) t.true(error.message.includes(part), part);
});

test('MethodNotFoundError names the method and the worker', (t) => {
  const error = new MethodNotFoundError('frobnicate', 'shard-0');
  t.is(error.method, 'frobnicate');
  t.true(error.message.includes('frobnicate') && error.message.includes('shard-0'));
});

test('a call the coordinator could not answer names it as the coordinator, not as a worker', (t) => {
  t.is(new MethodNotFoundError('hello', 'coordinator').message, 'No method `hello` on the coordinator');
  t.is(new TimeoutError('hello', 50, 'coordinator').message, 'Call to `hello` on the coordinator timed out after 50 ms');
  t.is(new TimeoutError('hello', 50, 'w').message, 'Call to `hello` on worker "w" timed out after 50 ms');
});

test("convoy's own calls are named in words in messages, not by their NUL-prefixed names; the method field keeps the name", (t) => {
  const died = new WorkerDiedError({ worker: 'b', reason: 'exit', exitCode: 7, method: System.start });
  const timedOut = new TimeoutError(System.open, 250, 'b');
  const missing = new MethodNotFoundError(System.stats, 'b');
  for (const error of [died, timedOut, missing]) {
    t.false(error.message.includes('\0'), JSON.stringify(error.message));
  }
  t.true(died.message.includes("convoy's own `start`"), died.message);
  t.true(timedOut.message.includes("convoy's own `open`"), timedOut.message);
  t.is(timedOut.method, System.open);
});

test('WorkerStartError names the worker once, whether or not its cause does', (t) => {
  const fromCause = new WorkerStartError('bad', 'Worker "bad" exited before it could load (exit code 7)');
  t.is(fromCause.message, 'Worker "bad" failed to start: exited before it could load (exit code 7)');
  t.like(fromCause, { worker: 'bad', code: 'ERR_CONVOY_START' });
  t.is(new WorkerStartError('bad', 'no such host').message, 'Worker "bad" failed to start: no such host');
  t.is(new WorkerStartError('bad', 'Worker "bad": the factory threw').message, 'Worker "bad" failed to start: the factory threw');
});

test('WorkerStartError ends its message with the root of its causes, once, on one line', (t) => {
  const root = new RangeError('port out of range\n  at somewhere');
  const loadFailure = new Error('Worker "bad" failed to load file:///w.js', { cause: new Error('evaluating', { cause: root }) });
  const error = new WorkerStartError('bad', loadFailure.message, { cause: loadFailure });
  t.is(error.message, 'Worker "bad" failed to start: failed to load file:///w.js (RangeError: port out of range)');
  t.is(error.cause, loadFailure, 'the causes are kept as they were');
  // A root that the message already says, or a cause with no deeper one, adds nothing.
  const said = new Error('exited (code 7)', { cause: new Error('exited (code 7)') });
  t.is(new WorkerStartError('bad', said.message, { cause: said }).message, 'Worker "bad" failed to start: exited (code 7)');
  const shallow = new Error('timed out');
  t.is(new WorkerStartError('bad', shallow.message, { cause: shallow }).message, 'Worker "bad" failed to start: timed out');
  // A walk-through's: a factory that threw a string or an object ended the message with nothing of it.
  const threwString = new Error('the defineWorker() factory threw', { cause: 'factory string' });
  t.is(
    new WorkerStartError('bad', threwString.message, { cause: threwString }).message,
    'Worker "bad" failed to start: the defineWorker() factory threw (Non-error thrown: "factory string" (string))',
  );
  // A review's: an Error with a non-Error cause, deeper down, is still named by its own headline.
  const withCause = new Error('the defineWorker() factory threw', {
    cause: new Error('config file is missing `port`', { cause: { file: 'app.json' } }),
  });
  t.is(
    new WorkerStartError('bad', withCause.message, { cause: withCause }).message,
    'Worker "bad" failed to start: the defineWorker() factory threw (Error: config file is missing `port`)',
  );
  const threwObject = new Error('failed to load file:///w.js', { cause: { code: 'EOBJ', detail: 'obj detail' } });
  t.is(
    new WorkerStartError('bad', threwObject.message, { cause: threwObject }).message,
    'Worker "bad" failed to start: failed to load file:///w.js (Non-error thrown: {code: "EOBJ", detail: "obj detail"} (object))',
  );
});

const TO_ERROR: ReadonlyArray<[string, unknown, (e: Error) => boolean]> = [
  ['an Error as is', new RangeError('r'), (e) => e instanceof RangeError && e.message === 'r'],
  ['a string as the message', 'plain text', (e) => e.message === 'plain text'],
  ['a number, described', 42, (e) => e.message.includes('42 (number)')],
  ['null, described', null, (e) => e.message.includes('(null)')],
  ['an object without toString', Object.create(null), (e) => e.message.includes('(object)')],
];

for (const [name, thrown, check] of TO_ERROR) {
  test(`toError keeps ${name}`, (t) => {
    const error = toError(thrown);
    t.true(error instanceof Error);
    t.true(check(error), error.message);
  });
}

test('toError returns the very same Error instance', (t) => {
  const original = new TypeError('x');
  t.is(toError(original), original);
});

test('describe shows value and type, and shortens long values', (t) => {
  t.is(describe(-1), '-1 (number)');
  t.is(describe('a'), '"a" (string)');
  t.is(describe(undefined), 'undefined (undefined)');
  t.true(describe('x'.repeat(500)).length < 80);
  t.is(describe([]), 'an empty array', 'not an empty string');
  t.is(describe([1, 2]), 'an array of 2');
  // A plain object by its first properties, one level deep, not `[object Object]`.
  t.is(
    describe({ code: 'E', n: 1, big: 2n, f() {}, nested: { a: 1 }, list: [1] }),
    '{code: "E", n: 1, big: 2n, f: ƒ, nested: {…}, list: […]} (object)',
  );
  t.is(describe(Object.create(null)), '{} (object)');
  class Quota {
    left = 0;
  }
  t.is(describe(new Quota()), 'Quota {left: 0} (object)');
  const huge = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, 'x'.repeat(1000)]));
  t.true(describe(huge).length < 80, 'a huge object is cut short');
  class Money {
    toString() {
      return '5 EUR';
    }
  }
  t.is(describe(new Money()), '5 EUR (object)', 'an object with a toString of its own is shown by it');
  t.is(describe({ toString: () => 'custom' }), 'custom (object)');
});

test('describe and errorToWire never throw, even for a revoked Proxy or one whose every trap throws', (t) => {
  const { proxy: revoked, revoke } = Proxy.revocable(new Error('revoked'), {});
  revoke();
  const trapping = new Proxy(new Error('trapped'), {
    get() {
      throw new Error('get trap');
    },
    getPrototypeOf() {
      throw new Error('getPrototypeOf trap');
    },
  });
  for (const value of [revoked, trapping]) {
    t.is(describe(value), 'an unreadable value (object)');
    t.regex(errorToWire(value).message, /^(Unreadable|Non-error) .*an unreadable value \(object\)$/);
  }
});

class CodedError extends Error {
  code = 'E_CODED';
  retryable = true;
}
Object.defineProperty(CodedError.prototype, 'name', { value: 'CodedError' });

test('errorToWire / errorFromWire keep message, name, stack, own props and the cause chain', (t) => {
  const root = new TypeError('root cause');
  const middle = new CodedError('middle', { cause: root });
  const top = new RangeError('top', { cause: middle });
  const back = errorFromWire(errorToWire(top), 'w');
  t.true(back instanceof RemoteError);
  const remote = back as RemoteError;
  t.like(remote, { message: 'top', remoteName: 'RangeError', remoteStack: top.stack, code: 'ERR_CONVOY_REMOTE' });
  const mid = remote.cause as RemoteError;
  t.true(mid instanceof RemoteError);
  t.like(mid, { message: 'middle', remoteName: 'CodedError' });
  t.deepEqual(mid.data, { code: 'E_CODED', retryable: true });
  const deepest = mid.cause as RemoteError;
  t.like(deepest, { message: 'root cause', remoteName: 'TypeError' });
  t.is(deepest.cause, undefined);
});

test('a non-Error throw value and a non-Error cause travel as values', (t) => {
  const wire = errorToWire({ reason: 'x' });
  t.deepEqual(wire.value, { reason: 'x' });
  const back = errorFromWire(wire) as RemoteError;
  t.true(back.message.includes('Non-error thrown'));
  t.deepEqual(back.cause, { reason: 'x' });
  const withCause = errorFromWire(errorToWire(new Error('top', { cause: 17 }))) as RemoteError;
  t.is(withCause.cause, 17);
});

// A walk-through's: `throw { code: 'E_QUOTA', detail: 'over quota' }` arrived with `data` empty.
test("a thrown object's own properties are its data, and one shaped like an error keeps its message and name", (t) => {
  const plain = errorFromWire(errorToWire({ code: 'E_QUOTA', detail: 'over quota' })) as RemoteError;
  t.like(plain, { message: 'Non-error thrown: {code: "E_QUOTA", detail: "over quota"} (object)', remoteName: 'Error' });
  t.deepEqual(plain.data, { code: 'E_QUOTA', detail: 'over quota' });
  t.deepEqual(plain.cause, { code: 'E_QUOTA', detail: 'over quota' }, 'the value itself is the cause, as before');
  const errorLike = errorFromWire(errorToWire({ name: 'QuotaError', message: 'over quota', code: 'E_QUOTA' })) as RemoteError;
  t.like(errorLike, { message: 'over quota', remoteName: 'QuotaError' });
  t.deepEqual(errorLike.data, { code: 'E_QUOTA' });
  // A `name` that is no string is not taken for one: it stays in data.
  const oddName = errorFromWire(errorToWire({ name: 7, message: 'm' })) as RemoteError;
  t.like(oddName, { message: 'm', remoteName: 'Error' });
  t.deepEqual(oddName.data, { name: 7 });
  t.deepEqual((errorFromWire(errorToWire([1, 2])) as RemoteError).data, {}, 'an array has no data of its own');
  // The object crosses once: as the value, its data taken from it where it arrives.
  t.false('data' in errorToWire({ code: 'E', detail: 'd' }));
  // A getter that throws hides that field only.
  const getter = errorFromWire(
    errorToWire({
      code: 'E_GETTER',
      get message(): string {
        throw new Error('no');
      },
    }),
  ) as RemoteError;
  t.regex(getter.message, /^Non-error thrown: \{code: "E_GETTER", message: \?\} \(object\)$/);
  // An Error of another realm (not instanceof Error here) keeps its name, message and stack.
  const foreign = errorFromWire(errorToWire({ name: 'RangeError', message: 'far', stack: 'RangeError: far\n  at x' })) as RemoteError;
  t.like(foreign, { message: 'far', remoteName: 'RangeError', remoteStack: 'RangeError: far\n  at x' });
});

// A review's: a thrown object too large for a frame once lost its cause when the fallback left `value` out.
test("plainWireError keeps a thrown value's plain fields, cut, so it stays the cause and its data", (t) => {
  const wire = plainWireError(errorToWire({ code: 'E_BIG', blob: 'x'.repeat(100), fn: () => 1 }), 10);
  const back = errorFromWire(wire) as RemoteError;
  t.deepEqual(back.cause, { code: 'E_BIG', blob: 'xxxxxxxxxx... (100 characters)' });
  t.deepEqual(back.data, { code: 'E_BIG', blob: 'xxxxxxxxxx... (100 characters)' });
  t.is((errorFromWire(plainWireError(errorToWire('y'.repeat(20)), 5)) as RemoteError).cause, 'yyyyy... (20 characters)');
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  t.false('value' in plainWireError({ name: 'Error', message: 'm', value: proxy }), 'an unreadable value is left out');
});

test('a cycle in the cause chain is cut, not followed forever', (t) => {
  const a = new Error('a');
  const b = new Error('b', { cause: a });
  (a as { cause?: unknown }).cause = b;
  let depth = 0;
  for (let wire = errorToWire(a); wire.cause; wire = wire.cause) depth++;
  t.true(depth > 0 && depth <= 8, `depth ${depth}`);
});

/** The messages along `error`'s chain of Error causes, as far as it goes without repeating. */
function chainOf(error: unknown): string[] {
  const messages: string[] = [];
  const seen = new Set<unknown>();
  for (let node = error; node instanceof Error && !seen.has(node); node = node.cause) {
    seen.add(node);
    messages.push(node.message);
  }
  return messages;
}

test('stripForHandOff keeps the causes errorToWire carries, cuts the rest or a loop, and drops other data', (t) => {
  let deep = new Error('0');
  for (let i = 1; i < 20; i++) deep = Object.assign(new Error(String(i), { cause: deep }), { code: `E${i}`, nested: { a: [1] } });
  let carried = 0;
  for (let wire = errorToWire(deep); wire.cause; wire = wire.cause) carried++;
  stripForHandOff(deep);
  t.is(chainOf(deep).length, carried + 1, 'the top error and the causes the last words carry');
  let last: Error = deep;
  for (let node: unknown = deep; node instanceof Error; node = node.cause) {
    t.deepEqual(Object.keys(node), [], `${node.message}: no data left`);
    t.is(typeof node.stack, 'string');
    last = node;
  }
  t.false('cause' in last, 'the chain ends where it was cut');

  const a = new Error('a');
  const b = new Error('b', { cause: a });
  a.cause = b;
  stripForHandOff(a);
  t.deepEqual(chainOf(a), ['a', 'b']);
  t.false('cause' in b);

  const valueCause = new Error('top', { cause: { big: { deeper: {} } } });
  stripForHandOff(valueCause);
  t.deepEqual(valueCause.cause, {}, 'an object cause loses its data');
  const stringCause = new Error('top', { cause: 'why' });
  stripForHandOff(stringCause);
  t.is(stringCause.cause, 'why');

  const thrownObject = { deep: { o: {} }, [Symbol('s')]: 1 };
  stripForHandOff(thrownObject);
  t.deepEqual(Reflect.ownKeys(thrownObject), []);

  const frozen = Object.assign(new Error('frozen'), { data: 1 });
  frozen.cause = frozen;
  Object.freeze(frozen);
  t.notThrows(() => stripForHandOff(frozen));
  t.is(frozen.cause, frozen);
  t.notThrows(() => stripForHandOff(17));
});

test('errorToWire never throws: an error whose getters throw becomes a readable stand-in', (t) => {
  const hostile = new Error('hidden');
  Object.defineProperty(hostile, 'message', {
    get() {
      throw new Error('no message for you');
    },
  });
  const wire = errorToWire(hostile);
  t.is(wire.name, 'Error');
  t.is(typeof wire.message, 'string');
  const throwingProp = Object.defineProperty(new Error('kept'), 'bad', {
    enumerable: true,
    get() {
      throw new Error('getter');
    },
  });
  Object.assign(throwingProp, { good: 1 });
  t.like(errorToWire(throwingProp), { message: 'kept', data: { good: 1 } });
});

test("convoy's verdict on a call keeps its class across the wire; the same classes thrown by a handler do not", (t) => {
  const notFound = errorFromWire(ownErrorToWire(new MethodNotFoundError('nope', 'callee')), 'callee');
  t.true(notFound instanceof MethodNotFoundError);
  t.is((notFound as MethodNotFoundError).method, 'nope');
  const serialize = errorFromWire(ownErrorToWire(new SerializationError('cannot')));
  t.true(serialize instanceof SerializationError);
  t.is(serialize.message, 'cannot');
  // What a handler threw (even one of convoy's classes, from a call of its own) is the handler's failure.
  const thrown = errorFromWire(errorToWire(new SerializationError('from a nested call')));
  t.true(thrown instanceof RemoteError);
  t.is((thrown as RemoteError).remoteName, 'SerializationError');
  t.is((thrown as RemoteError).data.code, 'ERR_CONVOY_SERIALIZE');
});

test('plainWireError keeps only what always encodes: strings, numbers, booleans, null', (t) => {
  const error = new Error('top', { cause: new Error('inner') });
  Object.assign(error, { code: 'E', n: 1, ok: false, nil: null, fn: () => 1, sym: Symbol('s'), obj: { deep: 1 } });
  const plain = plainWireError(errorToWire(error));
  t.deepEqual(plain.data, { code: 'E', n: 1, ok: false, nil: null });
  t.is(plain.message, 'top');
  t.is(plain.cause?.message, 'inner');
});

test('plainWireError with maxStringChars cuts every string, through the cause chain, and says how long it was', (t) => {
  const long = 'z'.repeat(100);
  const wire = plainWireError(
    { name: 'Error', message: long, stack: long, data: { detail: long, n: 1 }, cause: { name: 'Error', message: long } },
    10,
  );
  t.is(wire.message, 'zzzzzzzzzz... (100 characters)');
  t.is(wire.stack, wire.message);
  t.deepEqual(wire.data, { detail: wire.message, n: 1 });
  t.is(wire.cause?.message, wire.message);
  t.is(plainWireError({ name: 'Error', message: long }).message, long, 'whole without a limit');
});

test('deathErrorToWire: the error a worker died of travels plain and cut to 16 KiB a string, as its last words and as its peers hear of it', (t) => {
  const error = Object.assign(new RangeError('x'.repeat(20_000)), { code: 'E_DEAD', retry: () => 1 });
  const wire = deathErrorToWire(error);
  t.is(wire.name, 'RangeError');
  t.is(wire.message, `${'x'.repeat(16_384)}... (20000 characters)`);
  t.deepEqual(wire.data, { code: 'E_DEAD' }, 'the function is left behind');
  t.is(deathErrorToWire('not an error').message, 'Non-error thrown: "not an error" (string)');
});
