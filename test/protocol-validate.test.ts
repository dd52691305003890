import test from 'ava';
import { ProtocolError } from '../src/errors.js';
import { Kind, PROTOCOL_VERSION } from '../src/protocol/messages.js';
import { validateMessage } from '../src/protocol/validate.js';

/** A wire error whose cause chain is `depth` links long. */
function deepCause(depth: number): object {
  let wire: object = { name: 'E', message: 'root' };
  for (let i = 0; i < depth; i++) wire = { name: 'E', message: `level ${i}`, cause: wire };
  return wire;
}

const VALID: ReadonlyArray<[string, unknown[]]> = [
  ['call', [Kind.Call, 1, 'inc', [1]]],
  ['call with no args', [Kind.Call, 0, 'x', []]],
  ['notify', [Kind.Notify, 'inc', [1, 'a']]],
  ['reply with a value', [Kind.Reply, 7, { any: 'thing' }]],
  ['reply with undefined', [Kind.Reply, 7, undefined]],
  ['fault', [Kind.Fault, 3, { name: 'Error', message: 'boom' }]],
  [
    'fault with stack, data and a cause chain',
    [Kind.Fault, 3, { name: 'E', message: 'top', stack: 's', data: { code: 'X' }, cause: { name: 'Error', message: 'inner', value: 5 } }],
  ],
  ['cancel', [Kind.Cancel, 3]],
  ['cancel for a timeout, with its time and method', [Kind.Cancel, 3, 50, 'hang']],
  // A review's: options take fractions, and a cancel for `timeoutMs: 50.5` ended the callee's channel.
  ['cancel for a timeout of a fraction of a millisecond', [Kind.Cancel, 3, 50.5, 'hang']],
  ['ping', [Kind.Ping, 0]],
  ['pong', [Kind.Pong, 9]],
  ['goodbye', [Kind.Goodbye]],
  ['goodbye with an exit notice', [Kind.Goodbye, { exitCode: 3, crashed: false }]],
  [
    'goodbye with the uncaught error it crashed with',
    [Kind.Goodbye, { exitCode: 1, crashed: true, error: { name: 'Error', message: 'boom', stack: 's' } }],
  ],
  ['settled', [Kind.Settled, 12]],
];

for (const [name, message] of VALID) {
  test(`accepts a ${name} message as is`, (t) => {
    t.is<unknown, unknown>(validateMessage(message), message);
  });
}

const INVALID: ReadonlyArray<[string, unknown]> = [
  ['a non-array', { kind: 0 }],
  ['an empty array', []],
  ['null', null],
  ['an unknown kind', [99, 1]],
  ['a string kind', ['0', 1, 'm', []]],
  ['a call with a negative id', [Kind.Call, -1, 'm', []]],
  ['a call with a fractional id', [Kind.Call, 1.5, 'm', []]],
  ['a call with an unsafe id', [Kind.Call, 2 ** 60, 'm', []]],
  ['a call with a numeric method', [Kind.Call, 1, 5, []]],
  ['a call with non-array args', [Kind.Call, 1, 'm', 'args']],
  ['a call with an extra field', [Kind.Call, 1, 'm', [], 0]],
  ['a notify with a missing args', [Kind.Notify, 'm']],
  ['a reply without an id', [Kind.Reply]],
  ['a fault without an error object', [Kind.Fault, 1, 'boom']],
  ['a fault whose error has no message', [Kind.Fault, 1, { name: 'Error' }]],
  ['a fault whose error has a numeric name', [Kind.Fault, 1, { name: 5, message: 'x' }]],
  ['a fault whose stack is not a string', [Kind.Fault, 1, { name: 'E', message: 'x', stack: [] }]],
  ['a fault whose data is a string', [Kind.Fault, 1, { name: 'E', message: 'x', data: 'code' }]],
  ['a fault whose cause is a number', [Kind.Fault, 1, { name: 'E', message: 'x', cause: 5 }]],
  ['a fault whose cause has no message', [Kind.Fault, 1, { name: 'E', message: 'x', cause: { name: 'E', cause: null } }]],
  ['a fault with a forged 1000-deep cause chain', [Kind.Fault, 1, deepCause(1000)]],
  ['a cancel with a string id', [Kind.Cancel, '1']],
  ['a cancel with a time but no method', [Kind.Cancel, 1, 50]],
  ['a cancel with a negative time', [Kind.Cancel, 1, -1, 'm']],
  ['a cancel with an infinite time', [Kind.Cancel, 1, Number.POSITIVE_INFINITY, 'm']],
  ['a cancel with a numeric method', [Kind.Cancel, 1, 50, 7]],
  ['a goodbye with a payload that is not an exit notice', [Kind.Goodbye, 1]],
  ['a goodbye whose uncaught error has no message', [Kind.Goodbye, { exitCode: 1, crashed: true, error: { name: 'Error' } }]],
  ['a goodbye whose uncaught error is a string', [Kind.Goodbye, { exitCode: 1, crashed: true, error: 'boom' }]],
];

for (const [name, value] of INVALID) {
  test(`rejects ${name} with ProtocolError`, (t) => {
    const error = t.throws(() => validateMessage(value), { instanceOf: ProtocolError });
    t.is(error?.code, 'ERR_CONVOY_PROTOCOL');
  });
}

test('the protocol version is a positive integer', (t) => {
  t.true(Number.isInteger(PROTOCOL_VERSION) && PROTOCOL_VERSION > 0);
});
