/**
 * The dashboard's lifetime: served on a running cluster, closed by its own close() or with the cluster,
 * `hold` keeping the last state, the default port and its fallback, options checked before any worker
 * starts, and the event log of a hung worker and of a crashed one.
 */
import { createServer } from 'node:net';
import test from 'ava';
import type { DashboardSnapshot } from '../src/index.js';
import { startCluster } from '../src/index.js';
import { fixture, pollUntil, startFor } from './helpers/cluster.js';
import { request } from './helpers/http.js';
import { failOnLeaks } from './helpers/leaks.js';

failOnLeaks(test);

test('serveDashboard() on a running cluster: its own address, closed by close() or with the cluster, and hold', async (t) => {
  const small = await startFor(t, { workers: [{ name: 'x', module: fixture('dashboard-pump.ts') }] });
  t.is(small.dashboardUrl, undefined);
  const served = await small.serveDashboard({ port: 0 });
  t.is(small.dashboardUrl, served.url);
  t.is((await request(served.url)).status, 200);
  await served.close();
  await t.throwsAsync(request(served.url), { code: 'ECONNREFUSED' });
  t.is(small.dashboardUrl, undefined);

  const held = await small.serveDashboard({ port: 0, hold: true, token: 'a-token-of-twenty-chars' });
  t.regex(held.url, /\?token=a-token-of-twenty-chars$/);
  const plain = await small.serveDashboard({ port: 0 });
  await request(new URL('/api/snapshot', held.url), { headers: { authorization: 'Bearer a-token-of-twenty-chars' } });
  await small.close();
  await t.throwsAsync(request(plain.url), { code: 'ECONNREFUSED' }, 'closes with the cluster');
  const last = JSON.parse(
    (await request(new URL('/api/snapshot', held.url), { headers: { authorization: 'Bearer a-token-of-twenty-chars' } })).body,
  );
  t.true(last.closed, 'hold: the last state stays on show, marked closed');
  t.is(last.workers[0].state, 'closed', 'its workers closed with the cluster');
  t.like(last.cluster.workers, { ready: 0, closed: 1 });
  const metrics = (await request(new URL('/metrics', held.url), { headers: { authorization: 'Bearer a-token-of-twenty-chars' } })).body;
  t.regex(metrics, /^convoy_worker_up\{[^}]*worker="x"[^}]*\} 0$/m, 'a scrape after the close shows no worker up');
  t.regex(metrics, /^convoy_workers\{state="closed"\} 1$/m);
  t.is(small.dashboardUrl, held.url, 'dashboardUrl names the dashboard still served, not the closed one');
  await held.close();
  await t.throwsAsync(request(held.url), { code: 'ECONNREFUSED' });
  t.is(small.dashboardUrl, undefined);
  await t.throwsAsync(small.serveDashboard(), { code: 'ERR_CONVOY_CLOSED' });

  // The dashboard of the cluster's options closes with it, and its address goes with it.
  const configured = await startFor(t, { workers: [{ name: 'y', module: fixture('dashboard-pump.ts') }], dashboard: { port: 0 } });
  const url = configured.dashboardUrl!;
  t.is((await request(url)).status, 200);
  await configured.close();
  t.is(configured.dashboardUrl, undefined);
  await t.throwsAsync(request(url), { code: 'ECONNREFUSED' });
});

test('the default port 8787, or a free one when it is taken; a taken port asked for fails', async (t) => {
  const small = await startFor(t, { workers: [{ name: 'x', module: fixture('dashboard-pump.ts') }] });
  // Hold 8787 (unless something else already does): the dashboard must then pick another port.
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.once('error', () => resolve()).listen(8787, '127.0.0.1', () => resolve()));
  t.teardown(() => blocker.close());
  const fallback = await small.serveDashboard();
  t.not(new URL(fallback.url).port, '8787');
  t.is((await request(fallback.url)).status, 200);
  await fallback.close();
  const taken = await small.serveDashboard({ port: 0 });
  t.teardown(() => taken.close());
  await t.throwsAsync(small.serveDashboard({ port: Number(new URL(taken.url).port) }), { code: 'EADDRINUSE' });
});

test('a token of any character a cookie and a header may hold works by address, cookie and header', async (t) => {
  const small = await startFor(t, { workers: [{ name: 'x', module: fixture('dashboard-pump.ts') }] });
  const token = "A+b/c=d!#$%&*-_.~:<>?@[]^`{|}'()0";
  const served = await small.serveDashboard({ port: 0, token });
  t.teardown(() => served.close());
  t.is(new URL(served.url).searchParams.get('token'), token, 'the address carries it, encoded');
  const page = await request(served.url);
  t.is(page.status, 200);
  const cookie = page.headers['set-cookie']![0]!.split(';')[0]!;
  t.is((await request(new URL('/api/snapshot', served.url), { headers: { cookie } })).status, 200, 'by cookie');
  t.is((await request(new URL('/api/snapshot', served.url), { headers: { authorization: `Bearer ${token}` } })).status, 200, 'by header');
});

test('bad dashboard options fail before any worker starts, naming the option', async (t) => {
  const workers = [{ name: 'x', module: fixture('dashboard-pump.ts') }];
  for (const [dashboard, option] of [
    [{ port: -1 }, 'dashboard.port'],
    [{ port: 70_000 }, 'dashboard.port'],
    [{ refreshMs: 100 }, 'dashboard.refreshMs'],
    [{ refreshMs: 60_000 }, 'dashboard.refreshMs'],
    [{ token: 'short' }, 'dashboard.token'],
    // A token travels in a cookie and a header: one with a character neither may hold was accepted, and
    // '€' then ended the process at the first visit, ';' cut the cookie short (the page stayed at "connecting").
    [{ token: 'price-in-€-1234567890' }, 'dashboard.token'],
    [{ token: 'abc;def;ghi;jklmnop' }, 'dashboard.token'],
    [{ token: 'with a space in it, sixteen+' }, 'dashboard.token'],
    [{ token: 'quote"and\\backslash-16' }, 'dashboard.token'],
    [{ host: '' }, 'dashboard.host'],
    [{ hold: 'yes' }, 'dashboard.hold'],
  ] as const) {
    const error = await t.throwsAsync(startCluster({ workers, dashboard: dashboard as never }), { instanceOf: TypeError });
    t.true(error.message.includes(`\`${option}\``), error.message);
    const { token } = dashboard as { token?: string };
    if (token !== undefined) t.false(error.message.includes(token), `a refused token is not repeated (a secret): ${error.message}`);
  }
  // A review's: an object given as the token was described by its first fields, the secret among them.
  const secret = 'S3cr3t-dashboard-token-0123456789';
  const error = await t.throwsAsync(startCluster({ workers, dashboard: { token: { secret } } as never }), { instanceOf: TypeError });
  t.false(error.message.includes(secret), error.message);
  t.regex(error.message, /`dashboard\.token`.*got an object$/);
});

/** The event log in /api/snapshot once it holds an exit. */
async function eventsOnceExited(dashboardUrl: string, what: string): Promise<DashboardSnapshot['events']> {
  // The token in the address: the snapshot is read the way a browser would first open it.
  const url = new URL(dashboardUrl);
  url.pathname = '/api/snapshot';
  let events: DashboardSnapshot['events'] = [];
  await pollUntil(
    async () => {
      events = (JSON.parse((await request(url)).body) as DashboardSnapshot).events;
      return events.some((e) => e.type === 'exit');
    },
    20_000,
    `the exit of the ${what} worker in /api/snapshot`,
    200,
  );
  return events;
}

test('a hung worker is logged as hung, then its exit (heartbeat)', async (t) => {
  const small = await startFor(t, {
    workers: [{ name: 'h', module: fixture('counter.ts') }],
    heartbeatIntervalMs: 100,
    heartbeatTimeoutMs: 1000,
    dashboard: { port: 0 },
  });
  void small
    .worker<{ hang(): void }>('h')
    .hang()
    .catch(() => {});
  const events = await eventsOnceExited(small.dashboardUrl!, 'hung');
  t.like(
    events.filter((e) => e.type !== 'ready').map((e) => ({ type: e.type, worker: e.worker, reason: e.reason })),
    [
      { type: 'hung', worker: 'h', reason: undefined },
      { type: 'exit', worker: 'h', reason: 'heartbeat' },
    ],
  );
});

test('a crashed worker is logged with the uncaught error it crashed with', async (t) => {
  const small = await startFor(t, { workers: [{ name: 'c', module: fixture('counter.ts'), kind: 'process' }], dashboard: { port: 0 } });
  await small.worker<{ throwLater(): void }>('c').throwLater();
  const events = await eventsOnceExited(small.dashboardUrl!, 'crashed');
  t.like(
    events.find((e) => e.type === 'exit'),
    { worker: 'c', reason: 'crash', exitCode: 1, error: 'Error: boom', restarting: false },
  );
});
