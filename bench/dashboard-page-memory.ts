// What an open dashboard page costs the browser on a large mesh: its JavaScript heap and the share of its
// main thread spent in scripts and tasks, every 10 s. Every worker calls every other once (so every pair
// is open and in each message), then `--pumps` of them keep calling a neighbour; the page is headless
// Chromium (puppeteer-core, /usr/bin/chromium or CONVOY_CHROMIUM).
//
//   node --import tsx bench/dashboard-page-memory.ts [--workers 128] [--seconds 90] [--refresh 1000] [--pumps 8]
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { startCluster } from '../src/index.js';
import { launchChromium } from '../test/helpers/browser.js';

const { values: args } = parseArgs({
  options: {
    workers: { type: 'string', default: '128' },
    seconds: { type: 'string', default: '90' },
    refresh: { type: 'string', default: '1000' },
    pumps: { type: 'string', default: '8' },
  },
});
const count = Number(args.workers);
const cluster = await startCluster({
  workers: [{ name: 'w', module: new URL('../test/fixtures/dashboard-pump.ts', import.meta.url), count }],
  dashboard: { port: 0, refreshMs: Number(args.refresh) },
});
type Pump = { touch(peers: string[]): Promise<void>; pump(to: string): void };
const names = Array.from({ length: count }, (_, i) => `w-${i}`);
await Promise.all(names.map((name) => cluster.worker<Pump>(name).touch(names.filter((n) => n !== name))));
for (let i = 0; i < Math.min(count, Number(args.pumps)); i++) await cluster.worker<Pump>(names[i]!).pump(names[(i + 1) % count]!);
const chromium = await launchChromium();
try {
  const page = await chromium.browser.newPage();
  await page.setViewport({ width: 1400, height: 1100 });
  await page.goto(cluster.dashboardUrl!, { waitUntil: 'domcontentloaded' });
  console.log(`${count} thread workers, every pair open, ${args.pumps} pumping; the page reads every ${args.refresh} ms`);
  const started = Date.now();
  let last = await page.metrics();
  let lastAt = Date.now();
  while (Date.now() - started < Number(args.seconds) * 1000) {
    await sleep(10_000);
    const now = await page.metrics();
    const spanMs = Date.now() - lastAt;
    const share = (field: 'ScriptDuration' | 'TaskDuration') => ((((now[field]! - last[field]!) * 1000) / spanMs) * 100).toFixed(1);
    console.log(
      `  ${Math.round((Date.now() - started) / 1000)} s: heap ${(now.JSHeapUsedSize! / 1e6).toFixed(0)} MB used of ${(now.JSHeapTotalSize! / 1e6).toFixed(0)}; scripts ${share('ScriptDuration')}%, tasks ${share('TaskDuration')}% of its main thread`,
    );
    last = now;
    lastAt = Date.now();
  }
} finally {
  await chromium.close();
  await cluster.close();
}
