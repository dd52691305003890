// The README's picture of the dashboard: a bank run (the example's shards and tellers, threads and
// processes mixed) with one shard crashed mid-run and restarted, seen by headless Chromium.
//
//   node --import tsx scripts/dashboard-screenshot.ts [--out docs/dashboard.png] [--seconds 14]
//
// Needs Chromium (apt-get install -y chromium, or CONVOY_CHROMIUM=/path/to/chrome).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { BankConfig } from '../examples/bank/config.js';
import type { TellerApi } from '../examples/bank/teller.js';
import { startCluster } from '../src/index.js';
import { launchChromium } from '../test/helpers/browser.js';

const { values: args } = parseArgs({
  options: { out: { type: 'string', default: 'docs/dashboard.png' }, seconds: { type: 'string', default: '14' } },
});
const seconds = Number(args.seconds);
const dataDir = mkdtempSync(path.join(tmpdir(), 'convoy-bank-shot-'));
const cfg: BankConfig = {
  dataDir,
  shards: 4,
  accountsPerShard: 200,
  initialBalance: 1000,
  maxAmount: 300,
  seed: 1,
  tellerGoneAfterMs: 5000,
  prepareTimeoutMs: 1000,
  lockPolicy: 'wound-wait',
  lockWaitTimeoutMs: 250,
};
const spec = (role: 'shard' | 'teller', i: number) => ({
  name: `${role}-${i}`,
  module: new URL(`../examples/bank/${role}.ts`, import.meta.url),
  kind: i % 2 === 0 ? ('thread' as const) : ('process' as const),
  restart: 'on-failure' as const,
  data: cfg,
});
const cluster = await startCluster({
  workers: [...[0, 1, 2, 3].map((i) => spec('shard', i)), ...[0, 1].map((i) => spec('teller', i))],
  restartDelayMs: 1500,
  dashboard: { port: 0 },
});
const chromium = await launchChromium();
try {
  const page = await chromium.browser.newPage();
  await page.setViewport({ width: 1400, height: 1000, deviceScaleFactor: 1 });
  await page.goto(cluster.dashboardUrl!);
  const stopAt = Date.now() + seconds * 1000;
  const drive = async (name: string) => {
    const teller = cluster.worker<TellerApi>(name);
    while (Date.now() < stopAt) await teller.run({ count: 200, concurrency: 32, stopAtEpochMs: stopAt }).catch(() => {});
  };
  const driving = Promise.all([drive('teller-0'), drive('teller-1')]);
  // A crash a third of the way in, and the picture once the shard is back and busy again.
  await new Promise((resolve) => setTimeout(resolve, (seconds * 1000) / 3));
  await cluster.kill('shard-1');
  await page.waitForSelector('#event-log li[data-event="restart"][data-worker="shard-1"]', { timeout: 30_000 });
  await new Promise((resolve) => setTimeout(resolve, Math.max(1000, stopAt - Date.now() - 1500)));
  await page.screenshot({ path: args.out!, fullPage: true });
  console.log(`wrote ${args.out}`);
  await driving;
} finally {
  await chromium.close();
  await cluster.close();
  rmSync(dataDir, { recursive: true, force: true });
}
