/**
 * A headless Chromium for the dashboard tests: Debian's `chromium` (CI installs it with apt-get), driven
 * by puppeteer-core, which downloads no browser. Each launch gets a fresh profile, removed on close.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser } from 'puppeteer-core';
import { repoFile } from './repo.js';

export const CHROMIUM = process.env.CONVOY_CHROMIUM ?? '/usr/bin/chromium';

const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Where tests put their screenshots (git-ignored). */
export const SCREENSHOTS = fileURLToPath(repoFile('test-output/screenshots'));

export async function launchChromium(): Promise<{ browser: Browser; close(): Promise<void> }> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`No Chromium at ${CHROMIUM}: install it (apt-get install -y chromium) or set CONVOY_CHROMIUM`);
  }
  const userDataDir = mkdtempSync(path.join(tmpdir(), 'convoy-chromium-'));
  const browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS, userDataDir });
  return {
    browser,
    async close() {
      await browser.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
