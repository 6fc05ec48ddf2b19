import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { AGENT_CONNECT_PATH, AGENT_ENROLL_PATH, AGENT_PROTOCOL_VERSION, type Inventory } from '@steward/protocol';
import { openBrowser, type TestBrowser } from '../support/browser.js';
import { startServerProcess, type ServerProc } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

const inventory: Inventory = {
  hostname: 'cfg-raw',
  addresses: [],
  os: { platform: 'linux', release: 'x' },
  arch: 'x64',
  agentVersion: 'test',
  cpuCores: 1,
  memoryBytes: 1,
  disks: [],
  capabilities: [],
  modules: ['exec'],
  commandTypes: [],
};

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
    const { token } = await server.client.createEnrollmentToken({ labels: { role: 'web' } });
    const res = await fetch(server.url + AGENT_ENROLL_PATH, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, name: 'cfg-node', inventory }) });
    const { credential } = (await res.json()) as { credential: string };
    ws = new WebSocket(server.url.replace('http', 'ws') + AGENT_CONNECT_PATH, { headers: { authorization: `Bearer ${credential}` } });
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as { type: string; revision: string; config: Record<string, unknown> };
      if (m.type !== 'config.desired') return;
      desired.push(m);
      // This "agent" refuses any config with a log level, naming the field.
      const bad = m.config.logLevel !== undefined;
      ws.send(JSON.stringify({ type: 'config.status', revision: m.revision, state: bad ? 'rejected' : 'applied', ...(bad ? { reason: 'log level not allowed here', issues: [{ field: 'logLevel', rule: 'not here' }] } : {}), at: Date.now() }));
    });
    await new Promise<void>((ok, fail) => (ws.once('open', () => ok()), ws.once('error', fail)));
    ws.send(JSON.stringify({ type: 'hello', protocol: AGENT_PROTOCOL_VERSION, inventory, running: [], outbox: [] }));
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
  });
});
