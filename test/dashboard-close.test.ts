/**
 * What a dashboard shows when its cluster closes. Without `hold`, every open stream gets a last snapshot
 * marked closed before the server stops, and the page then says "closed" and stops reconnecting; with
 * `hold`, a worker dead at the close stays dead in /api/snapshot and /metrics (not `closed`), whether or
 * not anything was read before. A port or host the dashboard cannot listen on fails naming the option.
 */
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { createGunzip } from 'node:zlib';
import test, { type ExecutionContext } from 'ava';
import type { DashboardSnapshot } from '../src/index.js';
import { startCluster } from '../src/index.js';
import { launchChromium } from './helpers/browser.js';
import { eventLog, fixture, startFor, within } from './helpers/cluster.js';
import { parsePrometheus, request } from './helpers/http.js';
import { failOnLeaks } from './helpers/leaks.js';

failOnLeaks(test);

const workers = [
  { name: 'a', module: fixture('dashboard-pump.ts') },
  { name: 'p', module: fixture('dashboard-pump.ts'), kind: 'process' as const },
];

const bearer = (url: string) => ({ authorization: `Bearer ${new URL(url).searchParams.get('token')}` });

/**
 * Opens `/events` and collects its snapshots until the server ends the stream. `opened` settles with the
 * first snapshot; `ended` with every snapshot, once the stream has ended (failing if it is cut off).
 */
function streamUntilEnd(dashboardUrl: string, gzip: boolean): { opened: Promise<void>; ended: Promise<DashboardSnapshot[]> } {
  const snapshots: DashboardSnapshot[] = [];
  let opened!: () => void;
  const first = new Promise<void>((resolve) => (opened = resolve));
  const ended = new Promise<DashboardSnapshot[]>((resolve, reject) => {
    const headers = { ...bearer(dashboardUrl), ...(gzip ? { 'accept-encoding': 'gzip' } : {}) };
    const req = httpRequest(new URL('/events?intervalMs=250', dashboardUrl), { headers, agent: false }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`GET /events: ${res.statusCode}`));
      const body = res.headers['content-encoding'] === 'gzip' ? res.pipe(createGunzip()) : res;
      body.setEncoding('utf8');
      let buffer = '';
      body.on('data', (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const data = /^data: (.*)$/m.exec(buffer.slice(0, end))?.[1];
          buffer = buffer.slice(end + 2);
          if (data) {
            snapshots.push(JSON.parse(data) as DashboardSnapshot);
            opened();
          }
        }
      });
      body.on('end', () => resolve(snapshots));
      body.on('error', reject);
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
  ended.catch(() => {});
  return { opened: first, ended };
}

test('without hold, every open stream gets a last snapshot marked closed before the server stops', async (t) => {
  const cluster = await startFor(t, { workers, dashboard: { port: 0, refreshMs: 250 } });
  const url = cluster.dashboardUrl!;
  const plain = streamUntilEnd(url, false);
  const gzipped = streamUntilEnd(url, true);
  await within(Promise.all([plain.opened, gzipped.opened]), 15_000, 'a first snapshot on each stream');
  await cluster.close();
  for (const [label, stream] of [
    ['plain', plain],
    ['gzip', gzipped],
  ] as const) {
    const snapshots = await within(stream.ended, 10_000, `the ${label} stream ends`);
    const last = snapshots.at(-1)!;
    t.true(last.closed, `${label}: the last message says the cluster closed`);
    t.deepEqual(
      last.workers.map((w) => `${w.name}=${w.state}`),
      ['a=closed', 'p=closed'],
      label,
    );
    t.like(last.cluster.workers, { ready: 0, closed: 2 });
    t.false(
      snapshots.slice(0, -1).some((s) => s.closed),
      `${label}: only the last one is marked closed`,
    );
  }
});

test('without hold, an open page says "closed" once the cluster closes, and stops reconnecting', async (t) => {
  const cluster = await startFor(t, { workers, dashboard: { port: 0, refreshMs: 250 } });
  const chromium = await launchChromium();
  t.teardown(() => chromium.close());
  const page = await chromium.browser.newPage();
  await page.goto(cluster.dashboardUrl!, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#workers tr[data-worker="p"][data-state="ready"]', { timeout: 15_000 });
  await page.waitForFunction(`document.body.dataset.freshness === 'live'`, { timeout: 10_000 });
  await cluster.close();
  await page.waitForFunction(`document.body.dataset.freshness === 'closed'`, { timeout: 10_000 });
  t.regex((await page.$eval('#freshness', (s) => s.textContent))!, /^cluster closed · last state updated/);
  t.deepEqual(
    await page.$$eval('#workers tbody tr', (trs) => trs.map((tr) => `${tr.getAttribute('data-worker')}=${tr.getAttribute('data-state')}`)),
    ['a=closed', 'p=closed'],
  );
  // The stream asks the browser to reconnect after 2 s: no new request for /events may come in 3.5 s.
  const retried = await page
    .waitForRequest((r) => new URL(r.url()).pathname === '/events', { timeout: 3500 })
    .then(() => true)
    .catch(() => false);
  t.false(retried, 'the page does not reconnect to a closed cluster');
  t.is(await page.$eval('body', (b) => b.dataset.freshness), 'closed');
});

/** /api/snapshot and /metrics of a held dashboard after its cluster closed, `p` having died just before. */
async function heldAfterKill(t: ExecutionContext, readFirst: boolean) {
  // r restarts after a death, not before the close: it is not dead at the close, only waiting.
  const cluster = await startFor(t, {
    workers: [...workers, { name: 'r', module: fixture('dashboard-pump.ts'), restart: 'on-failure' }],
    restartDelayMs: 60_000,
  });
  const held = await cluster.serveDashboard({ port: 0, hold: true });
  t.teardown(() => held.close());
  const headers = bearer(held.url);
  if (readFirst) {
    // A reading taken while p was still up: the last one before the close, unless the close takes its own.
    const before = JSON.parse((await request(new URL('/api/snapshot', held.url), { headers })).body) as DashboardSnapshot;
    t.is(before.workers.find((w) => w.name === 'p')?.state, 'ready');
  }
  // Dead, and its death recorded (the worker-exit event, deaths_total), before the close begins.
  const exits = eventLog(cluster, 'worker-exit');
  await cluster.kill('p');
  await cluster.kill('r');
  t.like(await exits.nth('p', 1, 10_000), { reason: 'killed', restarting: false });
  t.like(await exits.nth('r', 1, 10_000), { reason: 'killed', restarting: true });
  await cluster.close();
  const snapshot = JSON.parse((await request(new URL('/api/snapshot', held.url), { headers })).body) as DashboardSnapshot;
  const samples = parsePrometheus((await request(new URL('/metrics', held.url), { headers })).body);
  const sample = (name: string, labels: Record<string, string>) =>
    samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
  return { snapshot, sample };
}

for (const readFirst of [false, true]) {
  test(`hold: a worker dead at the close shows dead, not closed; one waiting to restart, closed (${readFirst ? 'read before' : 'never read before'})`, async (t) => {
    const { snapshot, sample } = await heldAfterKill(t, readFirst);
    t.true(snapshot.closed);
    t.deepEqual(
      snapshot.workers.map((w) => `${w.name}=${w.state}`),
      ['a=closed', 'p=dead', 'r=closed'],
    );
    t.like(snapshot.cluster.workers, { ready: 0, restarting: 0, dead: 1, closed: 2 });
    t.is(sample('convoy_workers', { state: 'dead' }), 1);
    t.is(sample('convoy_workers', { state: 'closed' }), 2);
    t.is(sample('convoy_worker_deaths_total', { worker: 'p', reason: 'killed' }), 1);
    t.is(sample('convoy_worker_up', { worker: 'p' }), 0);
    t.is(sample('convoy_worker_up', { worker: 'a' }), 0);
  });
}

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
