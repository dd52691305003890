/**
 * The dashboard in a real browser (headless Chromium through puppeteer-core): a mixed cluster doing
 * work, the page open on it. Every worker has a row in state ready; the pair matrix shows traffic for the
 * pairs that talk and none for those that do not; a killed worker's death shows in the event log and in
 * its row before its restart (the time logged), then its restart; /metrics parses and grows; without the token, 401. Screenshots of
 * each step go to test-output/screenshots/.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import type { Browser, Page } from 'puppeteer-core';
import { EventLog } from '../src/cluster/event-log.js';
import { Dashboard } from '../src/dashboard/server.js';
import type { Cluster } from '../src/index.js';
import { fillDashboardOptions } from '../src/options.js';
import { startCluster } from '../src/index.js';
import { SCREENSHOTS, launchChromium } from './helpers/browser.js';
import { fixture, pollUntil, within } from './helpers/cluster.js';
import { parsePrometheus, request } from './helpers/http.js';

type Pump = { pump(to: string, method?: string): void; stop(): void };

/**
 * The issue asks that a death show within 2 s (the page reads every 500 ms here); the time is logged. The
 * test allows more: on a loaded machine headless Chromium is the slowest thing there, and a timed unit
 * test must not fail for the machine's load.
 */
const DEATH_SHOWS_WITHIN_MS = 5000;
/** The restart waits this long, so the page has time to show the worker down before it is back. */
const RESTART_DELAY_MS = DEATH_SHOWS_WITHIN_MS + 1000;

let starting: Promise<Cluster> | undefined;
let cluster: Cluster;
let chromium: Awaited<ReturnType<typeof launchChromium>> | undefined;
let browser: Browser;
let page: Page;

test.before(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  starting = startCluster({
    workers: [
      { name: 'front', module: fixture('dashboard-pump.ts') },
      { name: 'store', module: fixture('dashboard-pump.ts'), kind: 'process', restart: 'on-failure' },
      { name: 'audit', module: fixture('dashboard-pump.ts'), kind: 'process' },
      { name: 'idle', module: fixture('dashboard-pump.ts') },
    ],
    restartDelayMs: RESTART_DELAY_MS,
    pool: { module: fixture('pool-tasks.ts'), maxThreads: 1 },
    // Half a second between readings leaves most of the 2 s to spare, and keeps Chromium's share of a
    // busy machine small (other test files run alongside).
    dashboard: { port: 0, refreshMs: 500 },
  });
  cluster = await within(starting, 40_000, 'startCluster');
  // front → store → audit talk; idle talks to nobody, and nobody to it.
  await cluster.worker<Pump>('front').pump('store');
  await cluster.worker<Pump>('store').pump('audit');
  chromium = await launchChromium();
  browser = chromium.browser;
  page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 1100 });
  const response = await page.goto(cluster.dashboardUrl!, { waitUntil: 'domcontentloaded' });
  if (response?.status() !== 200) throw new Error(`The page answered ${response?.status()}`);
});

test.after.always(async () => {
  await chromium?.close();
  await (await starting?.catch(() => undefined))?.close();
});

const shot = (name: string) => page.screenshot({ path: path.join(SCREENSHOTS, `dashboard-${name}.png`), fullPage: true });

/** Waits until `selector` matches in the page, within `ms`. */
const waitFor = (selector: string, ms: number) => page.waitForSelector(selector, { timeout: ms });

/** The matrix cell's value (calls and notifies per second from `from` to `to`). */
const cell = (from: string, to: string) =>
  page.$eval(`#matrix td[data-from="${from}"][data-to="${to}"]`, (td) => Number(td.getAttribute('data-value')));

test.serial('every worker has a row in state ready, and the address bar lost the token', async (t) => {
  for (const name of cluster.names) await waitFor(`#workers tr[data-worker="${name}"][data-state="ready"]`, 15_000);
  const rows = await page.$$eval('#workers tbody tr', (trs) =>
    trs.map((tr) => [tr.getAttribute('data-worker'), tr.getAttribute('data-state')]),
  );
  t.deepEqual(rows.sort(), cluster.names.map((n) => [n, 'ready']).sort());
  t.false(page.url().includes('token='), 'the token is not left in the address bar');
  t.is(await page.$eval('body', (b) => b.getAttribute('data-freshness')), 'live');
  await shot('1-ready');
});

test.serial("the pool's tiles: its threads, and the tasks it did", async (t) => {
  const pool = cluster.pool<typeof import('./fixtures/pool-tasks.js')>();
  const done = (await cluster.stats()).pool!.completed + 2;
  await Promise.all([pool.add(1, 2), pool.add(3, 4)]);
  const label = (tile: string) => page.$eval(`[data-tile="${tile}"] .label`, (e) => e.textContent ?? '');
  await pollUntil(async () => (await label('tasks')).includes(`${done} done`), 10_000, 'the tasks tile counting the tasks');
  t.is(await page.$eval('[data-tile="pool"] .value', (e) => e.textContent), '1');
  t.regex(await label('pool'), /^pool threads · \d+ queued$/);
  t.is(await label('tasks'), `pool tasks/s · ${done} done`);
});

test.serial('the pair matrix shows traffic for the pairs that talk and none for those that do not', async (t) => {
  // A cell with traffic has the class `busy` (and its rate in data-value).
  await waitFor('#matrix td.busy[data-from="front"][data-to="store"]', 15_000);
  await waitFor('#matrix td.busy[data-from="store"][data-to="audit"]', 15_000);
  t.true((await cell('front', 'store')) > 0);
  t.true((await cell('store', 'audit')) > 0);
  const nodes = ['coordinator', ...cluster.names];
  const talking = new Set(['front→store', 'store→audit']);
  for (const from of nodes) {
    for (const to of nodes) {
      if (from === to || talking.has(`${from}→${to}`)) continue;
      t.is(await cell(from, to), 0, `${from} → ${to} shows no traffic`);
    }
  }
  const hover = await page.$eval('#matrix td[data-from="front"][data-to="store"]', (td) => td.getAttribute('title'));
  t.regex(hover!, /front → store: .* calls\/s.*in flight \d+ · queued/);
  t.regex(hover!, /store → front: /, 'the reverse direction on hover too');
  await shot('2-matrix');
});

test.serial('a killed worker: its death in the event log and its row before its restart, then its restart', async (t) => {
  const killedAt = performance.now();
  await cluster.kill('store');
  await Promise.all([
    waitFor('#event-log li[data-event="exit"][data-worker="store"]', DEATH_SHOWS_WITHIN_MS),
    waitFor('#workers tr[data-worker="store"]:not([data-state="ready"])', DEATH_SHOWS_WITHIN_MS),
  ]);
  t.log(`the death showed ${Math.round(performance.now() - killedAt)} ms after the kill`);
  const exit = await page.$eval('#event-log li[data-event="exit"][data-worker="store"]', (li) => li.textContent);
  t.regex(exit!, /killed/);
  await shot('3-death');
  await waitFor('#event-log li[data-event="restart"][data-worker="store"]', 30_000);
  await waitFor('#workers tr[data-worker="store"][data-state="ready"]', 30_000);
  const newest = await page.$eval('#event-log li', (li) => li.getAttribute('data-event'));
  t.is(newest, 'restart', 'newest first');
  // The new incarnation starts idle: set it pumping again, and its traffic shows on the new channels.
  await cluster.worker<Pump>('store').pump('audit');
  await waitFor('#matrix td.busy[data-from="store"][data-to="audit"]', 15_000);
  await shot('4-restarted');
});

test.serial('a pair opens its history on click', async (t) => {
  await page.click('#matrix td[data-from="front"][data-to="store"]');
  await waitFor('#pair-detail[open] .uplot', 5000);
  t.regex((await page.$eval('#pair-title', (h) => h.textContent))!, /front → store/);
  await shot('5-pair-detail');
  await page.keyboard.press('Escape');
});

test.serial('/metrics parses and its counters grow', async (t) => {
  const headers = { authorization: `Bearer ${new URL(cluster.dashboardUrl!).searchParams.get('token')}` };
  const calls = async () => {
    const samples = parsePrometheus((await request(new URL('/metrics', cluster.dashboardUrl), { headers })).body);
    return samples.find((s) => s.name === 'convoy_channel_calls_total' && s.labels.from === 'front' && s.labels.to === 'store')?.value ?? 0;
  };
  const first = await calls();
  t.true(first > 0);
  await pollUntil(async () => (await calls()) > first, 15_000, 'front → store calls grow', 200);
});

test.serial('without the token the page answers 401 and shows nothing', async (t) => {
  const context = await browser.createBrowserContext();
  t.teardown(() => context.close());
  const stranger = await context.newPage();
  const url = new URL(cluster.dashboardUrl!);
  url.search = '';
  const response = await stranger.goto(url.href);
  t.is(response?.status(), 401);
  // The body is empty (test/dashboard-server.test.ts); Chromium shows its own error page for it.
  t.is(await stranger.$('#workers'), null, 'no dashboard');
  const guess = await stranger.goto(`${url.href}?token=guess`);
  t.is(guess?.status(), 401);
  await stranger.screenshot({ path: path.join(SCREENSHOTS, 'dashboard-401.png') });
});

// A review's 5000-character method name made the latency table 38 756 px wide in a 1400 px window, its
// p50 and p99 out of view; a right-to-left override in an uncaught error turned ", restarting" around.
test.serial("a long method name is cut to fit and its figures stay in view; a worker's text cannot turn its line around", async (t) => {
  const long = 'm'.repeat(3000);
  const front = cluster.worker<Pump>('front');
  await front.pump('idle', long);
  t.teardown(async () => {
    await front.stop();
    await front.pump('store');
  });
  await waitFor('#latency tr[data-method^="mmmmmmmm"]', 15_000);
  const layout = await page.$eval('#latency', (table) => {
    const panel = table.closest('.panel')!.getBoundingClientRect();
    const p99 = [...table.querySelectorAll('th')].find((th) => th.textContent === 'p99')!.getBoundingClientRect();
    const name = table.querySelector('tr[data-method^="mmmmmmmm"] td')!;
    return { panelRight: panel.right, p99Right: p99.right, title: name.getAttribute('title') };
  });
  t.true(layout.p99Right <= layout.panelRight, `p99 ends at ${layout.p99Right} px, the panel at ${layout.panelRight} px`);
  t.is(layout.title, long, 'the whole name in the title');

  const events = new EventLog();
  const error = 'Error: \u202eboom';
  events.add({ type: 'exit', worker: 'w\u202eorker', reason: 'crash', exitCode: 1, error, restarting: true });
  const stats = await cluster.stats();
  const source = await Dashboard.start({ events, stats: () => Promise.resolve(stats) }, fillDashboardOptions({ port: 0, refreshMs: 250 }));
  t.teardown(() => source.close());
  const other = await browser.newPage();
  t.teardown(() => other.close());
  await other.goto(source.url);
  await other.waitForSelector('#event-log li[data-event="exit"]', { timeout: 10_000 });
  const line = await other.$eval('#event-log li[data-event="exit"]', (li) => ({
    text: li.textContent,
    isolated: [...li.querySelectorAll('bdi')].map((bdi) => bdi.textContent),
  }));
  t.deepEqual(line.isolated, [error], "the worker's error text is isolated");
  const nameBidi = await other.evaluate(`getComputedStyle(document.querySelector('#event-log li[data-event="exit"] b')).unicodeBidi`);
  t.is(nameBidi, 'isolate', "and so is the worker's name");
  t.true(line.text!.endsWith('(exit code 1, uncaught Error: \u202eboom), restarting'), line.text!);
});

test.serial('the page says when it is paused', async (t) => {
  await page.click('#pause');
  await page.waitForFunction(`document.body.dataset.freshness === 'paused'`, { timeout: 5000 });
  t.regex((await page.$eval('#freshness', (s) => s.textContent))!, /^paused/);
  await page.click('#pause');
  await page.waitForFunction(`document.body.dataset.freshness === 'live'`, { timeout: 5000 });
});

test.serial('a cluster that stops answering shows as stale instead of freezing; a closed one as closed', async (t) => {
  // A dashboard over a source that answers once, then never again: what a stuck cluster looks like.
  const events = new EventLog();
  let answered = false;
  const stats = await cluster.stats();
  const stuck = await Dashboard.start(
    {
      events,
      stats: () => {
        if (answered) return new Promise<never>(() => {});
        answered = true;
        return Promise.resolve(stats);
      },
    },
    fillDashboardOptions({ port: 0, refreshMs: 250, hold: true }),
  );
  t.teardown(() => stuck.close());
  const other = await browser.newPage();
  t.teardown(() => other.close());
  await other.goto(stuck.url);
  await other.waitForSelector('#workers tr[data-worker="front"]', { timeout: 10_000 });
  await other.waitForFunction(`document.body.dataset.freshness === 'stale'`, { timeout: 10_000 });
  t.regex((await other.$eval('#freshness', (s) => s.textContent))!, /^stale: no update for \d+ s · updated \d/);
  await other.screenshot({ path: path.join(SCREENSHOTS, 'dashboard-6-stale.png'), fullPage: true });

  await stuck.clusterClosed();
  await other.waitForFunction(`document.body.dataset.freshness === 'closed'`, { timeout: 10_000 });
  t.regex((await other.$eval('#freshness', (s) => s.textContent))!, /^cluster closed · last state updated/);
});
