import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StewardClient } from '@steward/client';
import { openBrowser, type TestBrowser } from '../support/browser.js';
import { addAgent, startServerProcess, type AgentProc, type ServerProc } from '../support/processes.js';

/** Approve on the command page in a real browser: the server refuses the submitter's own token, and the page says why. */
describe('dashboard approvals', { timeout: 60_000 }, () => {
  let server: ServerProc;
  let agent: AgentProc;
  let alice: StewardClient;
  let b: TestBrowser;

  beforeAll(async () => {
    server = await startServerProcess();
    agent = await addAgent(server, 'prod-web');
    await server.client.patchNode('prod-web', { labels: { env: 'prod' } });
    await server.client.putApprovalPolicy('prod-exec', { commandTypes: ['exec.*'], selector: 'env=prod' });
    alice = new StewardClient({ baseUrl: server.url, token: (await server.client.createToken({ name: 'alice', role: 'operator' })).token });
    b = await openBrowser();
    // Signed in with the admin token.
    await b.page.goto(`${server.url}/#token=${encodeURIComponent(server.token)}`);
    await b.page.locator('[data-testid=stream-state][data-state=live]').waitFor();
  }, 90_000);

  afterAll(async () => {
    await b?.close();
    await agent?.kill();
    await server?.kill();
  });

  it('refuses approving your own command, and runs one another operator submitted', async () => {
    const own = (await server.client.submitCommand({ node: 'prod-web', type: 'exec.run', payload: { command: 'true' } })).command;
    await b.page.goto(`${server.url}/commands/${own.id}`);
    await b.page.locator('[data-status=awaiting_approval]').first().waitFor();
    await b.page.click('button:has-text("Approve")');
    await expect(b.page.locator('.form-error').textContent()).resolves.toContain('a second operator token must');
    expect((await server.client.getCommand(own.id)).state).toBe('awaiting_approval');

    const theirs = (await alice.submitCommand({ node: 'prod-web', type: 'exec.run', payload: { command: 'true' } })).command;
    await b.page.goto(`${server.url}/commands/${theirs.id}`);
    await b.page.locator('[data-status=awaiting_approval]').first().waitFor();
    await b.page.click('button:has-text("Approve")');
    await b.page.locator('[data-status=succeeded]').first().waitFor({ timeout: 20_000 });
    expect((await server.client.getCommand(theirs.id)).state).toBe('succeeded');
  });
});
