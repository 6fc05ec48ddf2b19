import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { REPO, tempDir } from './processes.js';

/** Debian's chromium (installed by .ci/run); tests fail, never skip, when it is missing. */
export const CHROMIUM = process.env.STEWARD_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOTS = join(REPO, 'test/results/screenshots');

export interface TestBrowser {
  context: BrowserContext;
  page: Page;
  /** Saves a full-page screenshot under test/results/screenshots (git-ignored). */
  shot(name: string): Promise<void>;
  close(): Promise<void>;
}

export async function openBrowser(): Promise<TestBrowser> {
  const context = await chromium.launchPersistentContext(tempDir('steward-chromium-'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(20_000);
  mkdirSync(SCREENSHOTS, { recursive: true });
  return {
    context,
    page,
    shot: async (name) => void (await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true })),
    close: () => context.close(),
  };
}
