import test from 'ava';
import { ProtocolError } from '../src/errors.js';
import { Kind, PROTOCOL_VERSION } from '../src/protocol/messages.js';
import { validateMessage } from '../src/protocol/validate.js';

const VALID: ReadonlyArray<[string, unknown[]]> = [
  ['call', [Kind.Call, 1, 'inc', [1]]],
  ['call with no args', [Kind.Call, 0, 'x', []]],
  ['notify', [Kind.Notify, 'inc', [1, 'a']]],
  ['reply with a value', [Kind.Reply, 7, { any: 'thing' }]],
  ['reply with undefined', [Kind.Reply, 7, undefined]],
  ['fault', [Kind.Fault, 3, { name: 'Error', message: 'boom' }]],
  ['cancel', [Kind.Cancel, 3]],
  ['ping', [Kind.Ping, 0]],
  ['pong', [Kind.Pong, 9]],
  ['goodbye', [Kind.Goodbye]],
  ['goodbye with an exit notice', [Kind.Goodbye, { exitCode: 3, crashed: false }]],
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
  ['a cancel with a string id', [Kind.Cancel, '1']],
  ['a goodbye with a payload that is not an exit notice', [Kind.Goodbye, 1]],
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
