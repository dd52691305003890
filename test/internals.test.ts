/**
 * `convoy/internals`: what an extender builds on. RPC between two endpoints over an authenticated TCP
 * connection, made only with what that entry exports; a dialer without the secret is refused; the
 * package's export map names the built file of that entry.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import test from 'ava';
import { Channel, Endpoint, acceptTcp, createRemote, dialTcp } from '../src/internals.js';
import { deferred, withDeadline } from './helpers/deadline.js';
import { failOnLeaks } from './helpers/leaks.js';
import { listen, portOf } from './helpers/pairs.js';
import { repoFile } from './helpers/repo.js';

failOnLeaks(test);

test('two endpoints over dialTcp/acceptTcp call each other; a dialer with the wrong secret is refused', async (t) => {
  const secret = randomBytes(32);
  const accepted = deferred<Endpoint>();
  const refused = deferred<unknown>();
  const server = await listen(t, (socket) => {
    acceptTcp(socket, { secret, self: 'server', accept: (peer) => peer === 'client' }).then(({ transport, peer }) => {
      accepted.resolve(new Endpoint(new Channel(transport), { peerName: peer, api: { double: (x: number) => 2 * x } }));
    }, refused.resolve);
  });
  const transport = await dialTcp({ host: '127.0.0.1', port: portOf(server), secret, from: 'client', to: 'server' });
  const client = new Endpoint(new Channel(transport), { peerName: 'server' });
  const serverSide = await withDeadline(accepted.promise, 5000, 'accept');
  t.teardown(() => {
    client.destroy(new Error('teardown'));
    serverSide.destroy(new Error('teardown'));
  });
  t.is(await createRemote<{ double(x: number): number }>(client).double(21), 42);

  await t.throwsAsync(dialTcp({ host: '127.0.0.1', port: portOf(server), secret: randomBytes(32), from: 'client', to: 'server' }), {
    code: 'ERR_CONVOY_PROTOCOL',
  });
  t.like(await withDeadline(refused.promise, 5000, 'the refusal'), { code: 'ERR_CONVOY_PROTOCOL' });
});

test('a dial that cannot connect says why: the socket error is in the message and is the cause', async (t) => {
  // A port that was just listened on and closed: nothing listens there now.
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  const error = await t.throwsAsync(dialTcp({ host: '127.0.0.1', port, secret: randomBytes(32), from: 'client', to: 'server' }));
  t.is(error?.message, `Could not reach "server" at 127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`);
  t.like(error?.cause, { code: 'ECONNREFUSED' });
});

test('the package exports `convoy/internals` from the built entry, beside the user API', (t) => {
  const pkg = JSON.parse(readFileSync(repoFile('package.json'), 'utf8'));
  t.is(pkg.exports['./internals'].default, './dist/bundle/internals.js');
  t.is(pkg.exports['.'].default, './dist/bundle/convoy.js');
  t.is(pkg.exports['./internals'].types, './dist/src/internals.d.ts');
  t.is(pkg.exports['.'].types, './dist/src/index.d.ts');
  t.deepEqual(pkg.exports['./worker'], { types: './dist/src/worker-api.d.ts', default: './dist/bundle/worker.js' });
});

test('`convoy/worker` is a part of `convoy`: the same values under the same names', async (t) => {
  const [workerApi, index] = await Promise.all([import('../src/worker-api.js'), import('../src/index.js')]);
  const names = Object.keys(workerApi);
  t.true(names.includes('defineWorker') && names.includes('notify'));
  for (const name of names) t.is((workerApi as Record<string, unknown>)[name], (index as Record<string, unknown>)[name], name);
});
