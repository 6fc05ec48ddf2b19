import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_CONNECT_PATH, AGENT_ENROLL_PATH, AGENT_PROTOCOL_VERSION, PROTOCOL_UNSUPPORTED, PROTOCOL_UNSUPPORTED_CLOSE } from '@steward/protocol';
import { startAgentProcess, startServerProcess, STEWARD_BIN, waitOnline, type AgentProc, type ServerProc } from '../support/processes.js';
import { readMetrics } from '../support/metrics.js';
import { rawInventory } from '../support/raw-agent.js';
import { openBrowser } from '../support/browser.js';
import { waitFor } from '../support/wait.js';

const run = promisify(execFile);

/**
 * Version skew over real processes: a real agent claiming a protocol two minors newer is refused,
 * says so in its log and keeps retrying at its longest backoff (500 ms in the test config); the
 * node list (API and `steward nodes ls`) shows it; a raw WebSocket agent a major older gets the
 * same refusal; the test-only version override is ignored outside NODE_ENV=test.
 */
describe('protocol version skew', () => {
  let server: ServerProc;
  const agents: AgentProc[] = [];

  beforeAll(async () => {
    server = await startServerProcess();
  }, 60_000);

  afterAll(async () => {
    for (const a of agents) await a.kill();
    await server?.kill();
  });

  const refusedCount = async (verdict: string): Promise<number> => {
    return (await readMetrics(server)).value(`steward_agent_protocol_refused_total{verdict="${verdict}"}`);
  };

  const agent = async (name: string, env: NodeJS.ProcessEnv): Promise<AgentProc> => {
    const { token } = await server.client.createEnrollmentToken({ ttlSeconds: 600, uses: 1 });
    const a = startAgentProcess({ server: server.url, token, name, env });
    agents.push(a);
    return a;
  };

  it('a real agent two minors newer is refused, logs it, keeps retrying at its longest delay, and is listed as incompatible', async () => {
    const a = await agent('skew-new', { NODE_ENV: 'test', STEWARD_TEST_PROTOCOL_VERSION: '1.3' });
    // Positive marker: three refusals counted by the control plane.
    await waitFor('three refusals of skew-new', async () => (await refusedCount('agent_too_new')) >= 3, { timeoutMs: 60_000 });
    const node = await server.client.getNode('skew-new');
    expect(node.status).toBe('offline');
    expect(node.versionSkew).toMatchObject({ agentProtocol: '1.3', serverProtocol: AGENT_PROTOCOL_VERSION, verdict: 'agent_too_new' });

    const lines = a
      .output()
      .split('\n')
      .filter((l) => l.includes('protocol_unsupported') && l.includes('retrying at the longest backoff'))
      .map((l) => JSON.parse(l) as { time: number; retryInMs: number });
    expect(lines.length).toBeGreaterThanOrEqual(2);
    // Each retry waits 90–100 % of maxDelayMs (500 in the test config), never the short first steps.
    for (const l of lines) expect(l.retryInMs).toBeGreaterThanOrEqual(450);
    for (let i = 1; i < lines.length; i++) expect(lines[i]!.time - lines[i - 1]!.time).toBeGreaterThanOrEqual(400);
    expect(a.output()).toContain('upgrade the control plane');
    expect(a.child.exitCode).toBeNull();

    const { stdout } = await run(process.execPath, [STEWARD_BIN, '--server', server.url, '--token', server.token, 'nodes', 'ls']);
    expect(stdout.split('\n').find((l) => l.includes('skew-new'))).toContain('incompatible: agent protocol 1.3');
  }, 120_000);

  it('the dashboard marks the refused node in the node list and on its page', async () => {
    const id = (await server.client.getNode('skew-new')).id;
    const b = await openBrowser();
    try {
      await b.page.goto(server.url);
      await b.page.fill('#token', server.token);
      await b.page.click('button[type=submit]');
      await b.page.click('nav >> text=Nodes');
      const row = b.page.locator(`[role=row][data-row-key="${id}"]`);
      await row.locator('[data-skew="1.3"]').waitFor();
      expect(await row.locator('[data-skew]').getAttribute('title')).toContain('upgrade the control plane');
      await row.locator('a').click();
      await b.page.waitForURL(`**/nodes/${id}`);
      await b.page.locator('[data-skew="1.3"]').first().waitFor();
      expect(await b.page.locator('body').textContent()).toContain(`agent protocol 1.3 refused by control plane ${AGENT_PROTOCOL_VERSION}`);
      await b.shot('version-skew-node');
    } finally {
      await b.close();
    }
  }, 90_000);

  it('a raw agent a major older gets protocol_unsupported and the close code; an unknown caller stores nothing', async () => {
    const { token } = await server.client.createEnrollmentToken({});
    const res = await fetch(server.url + AGENT_ENROLL_PATH, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, name: 'skew-old', inventory: rawInventory('skew-old') }) });
    expect(res.status).toBe(201);
    const { credential } = (await res.json()) as { credential: string };
    const ws = new WebSocket(server.url.replace('http', 'ws') + AGENT_CONNECT_PATH, { headers: { authorization: `Bearer ${credential}` } });
    const got: { type: string; code?: string; message?: string }[] = [];
    ws.on('message', (d) => got.push(JSON.parse(String(d))));
    const closed = new Promise<number>((ok) => ws.once('close', (code) => ok(code)));
    await new Promise<void>((ok, fail) => (ws.once('open', () => ok()), ws.once('error', fail)));
    ws.send(JSON.stringify({ type: 'hello', protocol: '0.7', shapeOfOld: true }));
    expect(await closed).toBe(PROTOCOL_UNSUPPORTED_CLOSE);
    expect(got).toMatchObject([{ type: 'error', code: PROTOCOL_UNSUPPORTED }]);
    expect(got[0]!.message).toContain('upgrade the agent');
    expect((await server.client.getNode('skew-old')).versionSkew).toMatchObject({ agentProtocol: '0.7', verdict: 'agent_too_old' });

    // A caller without a valid credential never reaches the hello: the upgrade is refused.
    const stranger = new WebSocket(server.url.replace('http', 'ws') + AGENT_CONNECT_PATH, { headers: { authorization: 'Bearer node_nope.nope' } });
    stranger.on('error', () => {}); // the refused upgrade, ended below
    const status = await new Promise<number>((ok) => stranger.once('unexpected-response', (_req, r) => ok(r.statusCode ?? 0)));
    expect(status).toBe(401);
    stranger.terminate();
  });

  it('ignores the test-only version override outside NODE_ENV=test', async () => {
    const a = await agent('skew-guarded', { NODE_ENV: 'production', STEWARD_TEST_PROTOCOL_VERSION: '1.3' });
    await waitOnline(server, 'skew-guarded', a);
    expect((await server.client.getNode('skew-guarded')).versionSkew).toBeNull();
  }, 90_000);
});
