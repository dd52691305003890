// The README's picture of the dashboard: the bank example (`convoy bank --crash --dashboard`: shards and
// tellers, threads and processes mixed, one worker crashed a third of the way in and restarted), seen by
// headless Chromium once the crashed worker is back and busy again.
//
//   node --import tsx scripts/dashboard-screenshot.ts [--out docs/dashboard.png] [--seconds 14]
//
// Needs Chromium (apt-get install -y chromium, or CONVOY_CHROMIUM=/path/to/chrome).
import { parseArgs } from 'node:util';
import { runBank } from '../examples/bank/run.js';
import { launchChromium } from '../test/helpers/browser.js';

const { values: args } = parseArgs({
  options: { out: { type: 'string', default: 'docs/dashboard.png' }, seconds: { type: 'string', default: '14' } },
});
const seconds = Number(args.seconds);
const chromium = await launchChromium();
try {
  let shot: Promise<void> | undefined;
  const report = await runBank({
    seconds,
    kind: 'mixed',
    accountsPerShard: 200,
    concurrency: 32,
    crashAtMs: (seconds * 1000) / 3,
    dashboard: { port: 0 },
    onStart: (cluster) => {
      shot = (async () => {
        const page = await chromium.browser.newPage();
        await page.setViewport({ width: 1400, height: 1000, deviceScaleFactor: 1 });
        await page.goto(cluster.dashboardUrl!);
        // The crash, its restart, then a few seconds of the recovered worker at work.
        await page.waitForSelector('#event-log li[data-event="restart"]', { timeout: 60_000 });
        await new Promise((resolve) => setTimeout(resolve, Math.min(4000, (seconds * 1000) / 4)));
        await page.screenshot({ path: args.out!, fullPage: true });
      })();
    },
  });
  await shot;
  console.log(`wrote ${args.out}; the run's checker: ${report.verdict.ok ? 'OK' : 'FAILED'}`);
} finally {
  await chromium.close();
}
