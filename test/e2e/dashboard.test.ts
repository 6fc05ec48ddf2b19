import { Readable } from 'node:stream';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBrowser, type TestBrowser } from '../support/browser.js';
import { addAgent, startAgentProcess, startUpProcess, waitOnline, type AgentProc, type ServerProc } from '../support/processes.js';
import { waitFor } from '../support/wait.js';
import { AdmissionService } from '../../packages/server/src/admissions/service.js';
import { Store } from '../../packages/server/src/store/store.js';
import { testContext } from '../../packages/server/test/helpers/context.js';

/**
 * A Retire-Cluster device asking to join, through the control plane's own admission path run
 * here on its database (the TCP gateway is not needed to make one wait).
 */
async function admitPendingDevice(dataDir: string, externalId: string): Promise<string> {
  const store = await Store.open(join(dataDir, 'steward.db'));
  try {
    const answer = await new AdmissionService(testContext(store, { now: Date.now() })).admit({
      protocol: 'retire-cluster',
      externalId,
      hostname: 'old phone',
      source: '192.0.2.7',
      profile: { role: 'worker' },
      heartbeatIntervalMs: 60_000,
    });
    if (answer.state !== 'pending') throw new Error(`expected a pending admission, got ${answer.state}`);
    return answer.admissionId;
  } finally {
    await store.close();
  }
}

/**
 * The dashboard in a real browser (Debian's chromium through playwright-core) against a real
 * `steward up` (control plane + its local agent) and real agent processes. Each test continues
 * from the page the previous one left, as an operator would.
 */
describe('web dashboard in chromium', () => {
  let up: ServerProc;
  let edge: AgentProc;
  const extra: AgentProc[] = [];
  let b: TestBrowser;
  let localId = '';
  /** Script errors and CSP violations seen in the page; none is expected. */
  const pageErrors: string[] = [];

  beforeAll(async () => {
    up = await startUpProcess();
    const local = await waitFor('the local node', async () => (await up.client.listNodes()).items.find((n) => n.labels.local === 'true' && n.status === 'online'), { timeoutMs: 30_000 });
    localId = local.id;
    edge = await addAgent(up, 'edge-1', ['role=edge']);
    b = await openBrowser();
    b.page.on('pageerror', (e) => pageErrors.push(String(e)));
    b.page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy|Uncaught/.test(m.text())) pageErrors.push(m.text());
    });
  }, 90_000);

  afterAll(async () => {
    await b?.close();
    for (const a of [edge, ...extra]) await a?.kill();
    await up?.kill();
  });

  const row = (id: string) => b.page.locator(`[role=row][data-row-key="${id}"]`);

  it('refuses a wrong token with a message', async () => {
    await b.page.goto(up.url);
    await b.page.fill('#token', 'tok_wrong.not-a-secret');
    await b.page.click('button[type=submit]');
    const error = b.page.getByTestId('sign-in-error');
    await error.waitFor();
    expect(await error.textContent()).toMatch(/refused.*token not recognised/);
    expect(await b.page.evaluate(() => sessionStorage.getItem('steward.token'))).toBeNull();
    await b.shot('01-sign-in-refused');
  });

  it('signs in and shows the local node online', async () => {
    await b.page.fill('#token', up.token);
    await b.page.click('button[type=submit]');
    await b.page.getByTestId('nodes-online').waitFor();
    await waitFor('two nodes online on the overview', async () => (await b.page.getByTestId('nodes-online').textContent()) === '2', { timeoutMs: 10_000 });
    await b.page.locator('[data-testid=stream-state][data-state=live]').waitFor();
    await b.shot('02-overview');

    await b.page.click('nav >> text=Nodes');
    await row(localId).locator('[data-status=online]').waitFor();
    expect(await row(localId).textContent()).toContain('local=true');
    await b.shot('03-nodes');
  });

  it('runs a command on a node and shows its output as it arrives', async () => {
    await row(localId).locator('a').click();
    await b.page.waitForURL(`**/nodes/${localId}`);
    await b.page.getByLabel('command line').fill('echo hello-from-the-dashboard; echo to-stderr >&2');
    await b.page.click('button:has-text("Run")');
    const run = b.page.getByTestId('run').first();
    await run.locator('[data-status=succeeded]').waitFor();
    expect(await run.getByTestId('stdout').textContent()).toBe('hello-from-the-dashboard\n');
    expect(await run.getByTestId('stderr').textContent()).toBe('to-stderr\n');
    // Each state change was shown as its event arrived, not only the end.
    await waitFor('every state step shown', async () => /pending.*running.*succeeded/.test((await run.locator('.run-steps').textContent()) ?? ''), { timeoutMs: 5000 });
    await b.page.locator('.charts canvas').first().waitFor();
    await b.shot('04-node');
  });

  it('browses the node\'s files with fs.list', async () => {
    const root = join(up.dataDir, 'local-agent', 'files');
    mkdirSync(join(root, 'site'), { recursive: true });
    writeFileSync(join(root, 'site', 'index.html'), '<h1>hi</h1>');
    await b.page.click('button:has-text("Browse files")');
    const browser = b.page.getByTestId('file-browser');
    // '/' is outside the agent's roots; the browser opens the root the agent named instead.
    await browser.locator('button:has-text("site/")').click();
    await browser.locator('td:has-text("index.html")').waitFor();
    expect(await browser.locator('.files-bar code').textContent()).toBe(join(root, 'site'));
    await b.shot('04b-node-files');
  });

  it('creates an enrollment token whose command line enrolls a machine, which then appears live', async () => {
    await b.page.click('nav >> text=Enroll');
    await b.page.getByLabel('labels').fill('env=lab');
    await b.page.click('button:has-text("Create token")');
    const line = (await b.page.getByTestId('agent-command').textContent()) ?? '';
    expect(line).toMatch(new RegExp(`^steward agent --server ${up.url} --enroll-token \\S+ --label env=lab$`));
    expect(await b.page.getByTestId('systemd-unit').textContent()).toContain('ExecStart=/usr/local/bin/steward agent');
    // The one-line install, the same as `steward enroll create` prints (plain HTTP here: no pins).
    expect(await b.page.getByTestId('install-command').textContent()).toMatch(new RegExp(`^curl -fsSL ${up.url}/install\\.sh \\| sudo sh -s -- --token \\S+ --label env=lab$`));
    await b.shot('05-enroll');

    const token = /--enroll-token (\S+)/.exec(line)![1]!;
    await b.page.click('nav >> text=Nodes');
    await row(localId).waitFor();
    const agent = startAgentProcess({ server: up.url, token, name: 'from-dashboard' });
    extra.push(agent);
    await waitOnline(up, 'from-dashboard', agent);
    const id = (await up.client.getNode('from-dashboard')).id;
    await row(id).locator('[data-status=online]').waitFor({ timeout: 10_000 });
    expect(await row(id).textContent()).toContain('env=lab');
  });

  it('turns a stopped agent offline in the table without a reload', async () => {
    const id = (await up.client.getNode('edge-1')).id;
    await row(id).locator('[data-status=online]').waitFor();
    await b.page.evaluate(() => ((window as unknown as { stillHere: boolean }).stillHere = true));
    await edge.kill();
    await row(id).locator('[data-status=offline]').waitFor({ timeout: 15_000 });
    expect(await b.page.evaluate(() => (window as unknown as { stillHere?: boolean }).stillHere)).toBe(true);
    await b.shot('06-nodes-offline');
  });

  it('a reload on a client route keeps the session (tab storage) and loads the page again', async () => {
    await b.page.reload();
    await b.page.waitForURL('**/nodes');
    await row(localId).locator('[data-status=online]').waitFor();
    expect(await b.page.locator('#token').count()).toBe(0);
  });

  it('filters the nodes table by status, label and text', async () => {
    const edgeId = (await up.client.getNode('edge-1')).id;
    await b.page.getByLabel('status').selectOption('offline');
    await row(edgeId).waitFor();
    expect(await row(localId).count()).toBe(0);
    await b.page.getByLabel('status').selectOption('');
    await b.page.getByLabel('label selector').fill('env=lab');
    await waitFor('only the lab node', async () => (await b.page.locator('[role=row][data-row-key]').count()) === 1, { timeoutMs: 5000 });
    await b.page.getByLabel('label selector').fill('');
    await b.page.getByLabel('search').fill('edge');
    await waitFor('only edge-1', async () => (await b.page.locator('[role=row][data-row-key]').count()) === 1, { timeoutMs: 5000 });
    await b.page.getByLabel('search').fill('');
  });

  it("shows each node's protocol, lists a device waiting to join, and Approve makes it a node", async () => {
    await b.page.click('nav >> text=Nodes');
    await row(localId).locator('[data-protocol=steward]').waitFor();

    const admissionId = await admitPendingDevice(up.dataDir, 'phone-7');
    const entry = b.page.locator(`[data-testid=waiting-to-join] tr[data-admission="${admissionId}"]`);
    await entry.waitFor({ timeout: 15_000 });
    expect(await entry.textContent()).toMatch(/retire-cluster.*phone-7.*old phone.*192\.0\.2\.7/);
    await b.shot('06b-waiting-to-join');
    await entry.locator('button:has-text("Approve")').click();

    const node = await waitFor('the approved device as a node', async () => (await up.client.listNodes()).items.find((n) => n.protocol === 'retire-cluster' && n.hostname === 'old phone'));
    await row(node.id).locator('[data-protocol=retire-cluster]').waitFor({ timeout: 10_000 });
    // Nobody else waits: the section is gone.
    await b.page.getByTestId('waiting-to-join').waitFor({ state: 'detached', timeout: 10_000 });
    await row(node.id).locator('a').click();
    await b.page.waitForURL(`**/nodes/${node.id}`);
    await b.page.locator('.page-header [data-protocol=retire-cluster]').waitFor();
    await b.shot('06c-approved-node');
    await b.page.click('nav >> text=Nodes');
  });

  it('offers a reader no decision, and Reject keeps a device out', async () => {
    const admissionId = await admitPendingDevice(up.dataDir, 'phone-8');
    const entry = b.page.locator(`[data-testid=waiting-to-join] tr[data-admission="${admissionId}"]`);
    await entry.waitFor({ timeout: 15_000 });

    const { token } = await up.client.createToken({ name: 'dash-reader', role: 'reader' });
    const reader = await b.context.newPage();
    try {
      const knowsRole = reader.waitForResponse((r) => r.url().endsWith('/api/v1/tokens/self') && r.ok());
      // A reader may read the waiting list; the page has it, and still shows no section.
      const knowsWaiting = reader.waitForResponse(async (r) => r.url().includes('/api/v1/admissions?state=pending') && (await r.text()).includes(admissionId));
      await reader.goto(`${up.url}/#token=${encodeURIComponent(token)}`);
      await reader.click('nav >> text=Nodes');
      await reader.locator(`[role=row][data-row-key="${localId}"]`).waitFor();
      await Promise.all([knowsRole, knowsWaiting]);
      // Two frames after both arrived, the page has rendered with them.
      await reader.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      expect(await reader.getByTestId('waiting-to-join').count()).toBe(0);
    } finally {
      await reader.close();
    }

    await entry.locator('button:has-text("Reject")').click();
    await entry.waitFor({ state: 'detached', timeout: 10_000 });
    expect((await up.client.listAdmissions({ state: 'rejected' })).items.map((a) => a.externalId)).toEqual(['phone-8']);
    expect((await up.client.listNodes()).items.some((n) => n.protocol === 'retire-cluster' && n.name !== 'old-phone')).toBe(false);
  });

  it('shows commands and jobs with each node\'s result', async () => {
    const job = await up.client.createJob({ target: { selector: 'local=true' }, type: 'exec.run', payload: { command: 'echo', args: ['from-a-job'] } });
    await up.client.getJob(job.id, { wait: 15 });
    await b.page.click('nav >> text=Jobs');
    await row(job.id).locator('[data-col=state] [data-status=succeeded]').waitFor();
    await b.shot('07-jobs');
    await row(job.id).click();
    await b.page.waitForURL(`**/jobs/${job.id}`);
    await b.page.locator('details summary').first().click();
    expect(await b.page.getByTestId('stdout').first().textContent()).toBe('from-a-job\n');
    await b.shot('08-job');

    await b.page.click('nav >> text=Commands');
    const cmd = job.commands[0]!;
    await row(cmd.id).waitFor();
    await b.shot('09-commands');
    await row(cmd.id).click();
    await b.page.waitForURL(`**/commands/${cmd.id}`);
    await b.page.locator('[data-testid=command-result][data-state=succeeded]').waitFor();
    await b.shot('10-command');
  });

  it('shows an agent upgrade paused by a failure, its batches and nodes, and aborts it', async () => {
    // Any bytes under a package's name do: `steward up`'s agent runs from the repository, not an
    // installed package, so it refuses to upgrade itself (upgrade_unsupported) before downloading.
    await up.client.putArtifact(Readable.from([Buffer.from('not a package')]), { name: `steward-agent-9.9.9-linux-${process.arch}.tar.gz` });
    const created = await up.client.createAgentUpgrade({ version: '9.9.9', target: { nodes: [localId] } });
    await waitFor('the upgrade paused', async () => (await up.client.getAgentUpgrade(created.id)).state === 'paused', { timeoutMs: 30_000 });
    await b.page.click('nav >> text=Upgrades');
    await row(created.id).locator('[data-col=state] [data-status=paused]').waitFor();
    await row(created.id).click();
    await b.page.waitForURL(`**/upgrades/${created.id}`);
    await row(localId).locator('[data-col=state] [data-status=failed]').waitFor();
    expect(await row(localId).locator('[data-col=reason]').textContent()).toMatch(/^upgrade_unsupported: this agent cannot upgrade itself/);
    // Cut by the column's width, the whole reason stays readable as the cell's tooltip.
    expect(await row(localId).locator('[data-col=reason]').getAttribute('title')).toBe(await row(localId).locator('[data-col=reason]').textContent());
    await b.shot('11-upgrade');
    await b.page.getByRole('button', { name: 'Abort' }).click();
    await b.page.locator('h1 [data-status=aborted]').waitFor();
    expect((await up.client.getAgentUpgrade(created.id)).state).toBe('aborted');
  });

  it('reconnects by itself after the control plane restarts', async () => {
    await b.page.click('nav >> text=Overview');
    await b.page.locator('[data-testid=stream-state][data-state=live]').waitFor();
    await up.kill();
    await b.page.locator('[data-testid=stream-state][data-state=reconnecting]').waitFor({ timeout: 15_000 });
    await b.shot('12-reconnecting');
    up = await startUpProcess({ dataDir: up.dataDir, port: up.port });
    await b.page.locator('[data-testid=stream-state][data-state=live]').waitFor({ timeout: 20_000 });
    // Live again: a command submitted now shows up on the page through the new stream.
    const { command } = await up.client.submitCommand({ node: localId, type: 'sys.ping' });
    await b.page.locator(`[data-testid=recent-events] a[href="/commands/${command.id}"]`).first().waitFor({ timeout: 15_000 });
    // The node of an event is linked by its name, not by the word "node" or its id.
    const nodeLink = b.page.locator(`[data-testid=recent-events] li:has(a[href="/commands/${command.id}"]) a[href="/nodes/${localId}"]`).first();
    expect(await nodeLink.textContent()).toBe((await up.client.getNode(localId)).name);
  });

  it('ran without script errors or Content-Security-Policy violations', () => {
    expect(pageErrors).toEqual([]);
  });
});
