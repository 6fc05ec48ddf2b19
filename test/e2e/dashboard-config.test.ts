import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { openBrowser, type TestBrowser } from '../support/browser.js';
import { startServerProcess, type ServerProc } from '../support/processes.js';
import { waitFor } from '../support/wait.js';
import { rawAgent } from '../support/raw-agent.js';

/**
 * The Config page in a real browser: a document saved from the editor (a bad one refused with
 * the field named), and on the node page its effective config, sources and the agent's
 * rejection in red. The agent is a raw socket that answers `config.desired` with `rejected`.
 */
describe('dashboard config', { timeout: 90_000 }, () => {
  let server: ServerProc;
  let b: TestBrowser;
  let ws: WebSocket;
  const desired: { revision: string; config: Record<string, unknown> }[] = [];

  beforeAll(async () => {
    // The raw socket sends no heartbeats: keep liveness from dropping it during the test.
    server = await startServerProcess({ env: { STEWARD_OFFLINE_AFTER_MS: '600000' } });
    const agent = await rawAgent(server.url, server.client, 'cfg-node', { role: 'web' });
    ws = agent.ws;
    // This "agent" refuses any config with a log level, naming the field.
    const answer = (m: { revision: string; config: Record<string, unknown> }) => {
      desired.push(m);
      const bad = m.config.logLevel !== undefined;
      agent.send({ type: 'config.status', revision: m.revision, state: bad ? 'rejected' : 'applied', ...(bad ? { reason: 'log level not allowed here', issues: [{ field: 'logLevel', rule: 'not here' }] } : {}), at: Date.now() });
    };
    answer(await agent.next('config.desired'));
    ws.on('message', (d) => {
      const m = JSON.parse(String(d));
      if (m.type === 'config.desired') answer(m);
    });
    b = await openBrowser();
    await b.page.goto(`${server.url}/#token=${encodeURIComponent(server.token)}`);
    await b.page.locator('[data-testid=stream-state][data-state=live]').waitFor();
  }, 90_000);

  afterAll(async () => {
    ws?.terminate();
    await b?.close();
    await server?.kill();
  });

  it('saves a document from the editor, refuses a bad one with the field named, and shows the node its config and the rejection', async () => {
    await b.page.goto(`${server.url}/config`);
    await b.page.click('button:has-text("New document")');
    await b.page.fill('[aria-label="document name"]', 'web');
    await b.page.fill('[aria-label="document JSON"]', JSON.stringify({ target: { selector: 'role=web' }, priority: 5, config: { heartbeatIntervalMs: 99_999_999 } }));
    await b.page.click('button:has-text("Save")');
    await expect(b.page.locator('.form-error').textContent()).resolves.toContain('config.heartbeatIntervalMs');
    expect((await server.client.listAgentConfigs()).items).toEqual([]);

    await b.page.fill('[aria-label="document JSON"]', JSON.stringify({ target: { selector: 'role=web' }, priority: 5, config: { logLevel: 'debug', fs: { maxReadBytes: 1024 } } }));
    await b.page.click('button:has-text("Save")');
    await b.page.locator('[role=status]:has-text("Saved web, version 1")').waitFor();
    await b.page.locator('[aria-label="edit web"]').waitFor();
    await b.shot('config-page');
    expect((await server.client.getAgentConfig('web')).config).toEqual({ logLevel: 'debug', fs: { maxReadBytes: 1024 } });
    await waitFor('the rejection stored', async () => (await server.client.nodeConfig('cfg-node')).applied?.state === 'rejected');

    await b.page.goto(`${server.url}/nodes/cfg-node`);
    const rejected = b.page.locator('[data-testid=node-config-rejected]');
    await rejected.waitFor();
    expect(await rejected.textContent()).toContain('log level not allowed here');
    expect(await b.page.locator('[data-testid=node-config-state] [data-status=rejected]').count()).toBe(1);
    const table = await b.page.locator('.config-sources').textContent();
    expect(table).toContain('fs.maxReadBytes');
    expect(table).toContain('web');
    await b.shot('node-config');
  });
});
