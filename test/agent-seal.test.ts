/** The secret at work between coordinator and agents (src/agent/seal.ts), without a server. */
import test from 'ava';
import { ProtocolError } from '../src/errors.js';
import { Sealer, joinProof, leftProof, sessionSecret } from '../src/agent/seal.js';

const secret = new Uint8Array(32).fill(9);
const other = new Uint8Array(32).fill(8);
const nonce = (n: number) => new Uint8Array(16).fill(n);
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

test("a session's workers get a secret of that session alone, never the cluster's", (t) => {
  const one = sessionSecret(secret, 'convoy.s1');
  t.is(hex(sessionSecret(secret, 'convoy.s1')), hex(one), 'both sides derive the same');
  t.not(hex(one), hex(secret));
  t.not(hex(sessionSecret(secret, 'convoy.s2')), hex(one), 'another session, another secret');
  t.not(hex(sessionSecret(other, 'convoy.s1')), hex(one), 'another cluster secret, another secret');
});

test('a proof that an agent left is over that join’s nonce, and is no other proof', (t) => {
  const proof = leftProof(secret, 'b', nonce(1), nonce(2));
  t.is(hex(leftProof(secret, 'b', nonce(1), nonce(2))), hex(proof));
  t.not(hex(leftProof(secret, 'b', nonce(3), nonce(2))), hex(proof), 'a later session’s nonce');
  t.not(hex(leftProof(secret, 'c', nonce(1), nonce(2))), hex(proof), 'another host');
  t.not(hex(leftProof(other, 'b', nonce(1), nonce(2))), hex(proof), 'another secret');
  t.not(hex(joinProof(secret, 'b', 's', nonce(1), nonce(2))), hex(proof));
});

test('sealed messages open only on the other side, once, and not under another secret', (t) => {
  const coordinator = new Sealer(secret, 'coordinator', 'b', 's', nonce(1), nonce(2));
  const agent = new Sealer(secret, 'agent', 'b', 's', nonce(1), nonce(2));
  const sealed = coordinator.seal({ t: 'beat' });
  t.throws(() => new Sealer(other, 'agent', 'b', 's', nonce(1), nonce(2)).open(sealed), { instanceOf: ProtocolError });
  t.throws(
    () => new Sealer(secret, 'coordinator', 'b', 's', nonce(1), nonce(2)).open(sealed),
    { instanceOf: ProtocolError },
    'its own side',
  );
  t.deepEqual(agent.open(sealed), { t: 'beat' });
  t.throws(() => agent.open(sealed), { instanceOf: ProtocolError, message: /replayed/ });
});
