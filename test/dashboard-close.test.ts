/**
 * A port or host the dashboard cannot listen on fails naming the option.
 */
import { createServer } from 'node:net';
import test from 'ava';
import { startCluster } from '../src/index.js';
import { fixture, startFor } from './helpers/cluster.js';
import { failOnLeaks } from './helpers/leaks.js';

failOnLeaks(test);

const workers = [
  { name: 'a', module: fixture('dashboard-pump.ts') },
  { name: 'p', module: fixture('dashboard-pump.ts'), kind: 'process' as const },
];

test('a dashboard port that is taken, or a host it cannot listen on, fails naming the option', async (t) => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
  const port = (blocker.address() as { port: number }).port;

  const cluster = await startFor(t, { workers: workers.slice(0, 1) });
  const taken = await t.throwsAsync(cluster.serveDashboard({ port }), { code: 'EADDRINUSE' });
  t.true(taken.message.startsWith(`\`dashboard.port\` ${port} on 127.0.0.1: listen EADDRINUSE`), taken.message);
  t.is((taken.cause as NodeJS.ErrnoException | undefined)?.code, 'EADDRINUSE', 'the original is its cause');

  // 192.0.2.1 (TEST-NET-1) is no address of this machine.
  const foreign = await t.throwsAsync(cluster.serveDashboard({ port: 0, host: '192.0.2.1' }), { code: 'EADDRNOTAVAIL' });
  t.true(foreign.message.startsWith("`dashboard.host` '192.0.2.1' (port 0): listen EADDRNOTAVAIL"), foreign.message);
  t.is((foreign as NodeJS.ErrnoException).syscall, 'listen');
  t.is((foreign.cause as NodeJS.ErrnoException | undefined)?.code, 'EADDRNOTAVAIL');

  // The dashboard of startCluster's options: the start fails with the same error, and stops its workers.
  const failed = await t.throwsAsync(startCluster({ workers: workers.slice(0, 1), dashboard: { port } }), { code: 'EADDRINUSE' });
  t.true(failed.message.startsWith(`\`dashboard.port\` ${port} on 127.0.0.1: listen EADDRINUSE`), failed.message);
});
