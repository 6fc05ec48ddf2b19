import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBrowser, type TestBrowser } from '../support/browser.js';
import { startUpProcess, type ServerProc } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

describe('dashboard: the sign-in link in an open tab, and the node page uptime', { timeout: 120_000 }, () => {
  let up: ServerProc;
  let b: TestBrowser;

  beforeAll(async () => {
    up = await startUpProcess();
    b = await openBrowser();
  }, 90_000);

  afterAll(async () => {
    await b?.close();
    await up?.kill();
  });

  it('pasting the sign-in link into a tab already on the sign-in page signs in', async () => {
    await b.page.goto(up.url);
    await b.page.locator('#token').waitFor();
    // Only the fragment changes: the browser does not reload, the page must notice by itself.
    await b.page.goto(`${up.url}/#token=${encodeURIComponent(up.token)}`);
    await b.page.getByTestId('nodes-online').waitFor();
    expect(new URL(b.page.url()).hash).toBe('');
    expect(await b.page.evaluate(() => sessionStorage.getItem('steward.token'))).toBe(up.token);
  });

  it('the node page shows uptime in minutes under an hour, with hours after', async () => {
    const local = await waitFor('the local node', async () => (await up.client.listNodes()).items.find((n) => n.status === 'online'), { timeoutMs: 30_000 });
    await b.page.goto(`${up.url}/nodes/${local.id}`);
    const text = await waitFor('the uptime', async () => {
      const body = (await b.page.locator('body').textContent()) ?? '';
      return /Uptime\s*(\d+ min|\d+ h \d+ min|\d+ d \d+ h)/.exec(body)?.[1];
    }, { timeoutMs: 30_000 });
    expect(text).not.toMatch(/^0 h$/);
  });
});
