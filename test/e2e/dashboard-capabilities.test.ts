import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBrowser, type TestBrowser } from '../support/browser.js';
import { addAgent, startServerProcess, type AgentProc, type ServerProc } from '../support/processes.js';
import { waitFor } from '../support/wait.js';
import { ArtifactServer, CRASHER, packTarGz, removeTestCgroups, sha256, SLEEPER } from '../support/service-artifacts.js';

const PARENT = `steward-e2e-dash-${randomBytes(4).toString('hex')}`;

/**
 * The alerts, tasks, services and backups views in a real browser against a real control plane
 * (failed exec.run commands raise alerts) and a real agent. Each test continues from the page
 * the previous one left.
 */
describe('dashboard views of alerts, tasks, services and backups', () => {
  let server: ServerProc;
  let agent: AgentProc;
  let artifacts: ArtifactServer;
  let b: TestBrowser;
  let nodeId = '';
  const pageErrors: string[] = [];

  beforeAll(async () => {
    server = await startServerProcess({ env: { STEWARD_ALERT_FAILED_COMMANDS: 'exec.run' } });
    agent = await addAgent(server, 'cap-1', ['role=lab'], `service:\n  cgroupParent: ${PARENT}\n  pollIntervalMs: 100\n`);
    nodeId = (await server.client.getNode('cap-1')).id;
    artifacts = await new ArtifactServer().start();
    b = await openBrowser();
    b.page.on('pageerror', (e) => pageErrors.push(String(e)));
    b.page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy|Uncaught/.test(m.text())) pageErrors.push(m.text());
    });
    // The sign-in link `steward up` prints: the token in the fragment, never sent to the server.
    await b.page.goto(`${server.url}/#token=${encodeURIComponent(server.token)}`);
    await b.page.locator('[data-testid=stream-state][data-state=live]').waitFor();
  }, 90_000);

  afterAll(async () => {
    await server?.client.deleteService('dash-svc').catch(() => {});
    await waitFor('the service stopped', async () => !(await server.client.getService('dash-svc').catch(() => null))?.nodes.some((n) => n.pid !== null), { timeoutMs: 10_000 }).catch(() => {});
    await b?.close();
    await agent?.kill();
    await server?.kill();
    await artifacts?.stop();
    removeTestCgroups(PARENT);
  });

  const row = (key: string) => b.page.locator(`[role=row][data-row-key="${key}"]`);
  const exec = async (command: string) => {
    const { command: c } = await server.client.submitCommand({ node: 'cap-1', type: 'exec.run', payload: { command } });
    return server.client.getCommand(c.id, { wait: 15 });
  };

  it('shows a new alert live, acknowledges it from the page, and drops it when it resolves', async () => {
    await b.page.click('nav >> text=Alerts');
    await b.page.waitForURL('**/alerts');
    await b.page.locator('.state-empty:has-text("Nothing is firing")').waitFor();
    await b.shot('20-alerts-empty');

    expect((await exec('false')).state).toBe('failed');
    const alert = await waitFor('the alert', async () => (await server.client.listAlerts({ state: 'firing' })).items[0], { timeoutMs: 10_000 });
    // No reload: the row arrives through the event stream.
    const r = row(alert.id);
    await r.locator('[data-status=firing]').waitFor({ timeout: 10_000 });
    expect(await r.locator('[data-col=summary]').textContent()).toContain(alert.summary);
    expect(await r.locator('[data-col=count]').textContent()).toBe('1');
    await waitFor('the node named in the row', async () => (await r.locator('[data-col=node]').textContent()) === 'cap-1', { timeoutMs: 10_000 });

    // Fires again on the same key: the same alert counts 2. A repeat has no event (webhooks
    // are not sent per repeat); the list shows it on its next load, here a change of filter.
    expect((await exec('false')).state).toBe('failed');
    await waitFor('count 2 stored', async () => (await server.client.getAlert(alert.id)).count === 2, { timeoutMs: 10_000 });
    await b.page.getByLabel('alert filter').selectOption('unacked');
    await waitFor('count 2 on the page', async () => (await r.locator('[data-col=count]').textContent()) === '2', { timeoutMs: 10_000 });
    expect(await b.page.locator('[role=row][data-row-key]').count()).toBe(1);
    await b.page.getByLabel('alert filter').selectOption('firing');
    await r.locator('button:has-text("Ack")').click();
    await r.locator('[data-status=acked]').waitFor();
    expect(await r.locator('button:has-text("Ack")').count()).toBe(0);
    const stored = await server.client.getAlert(alert.id);
    expect(stored.ackedAt).not.toBeNull();
    expect(stored.state).toBe('firing');
    await b.shot('21-alerts-acked');

    // Acknowledged alerts leave the "not acknowledged" filter.
    await b.page.getByLabel('alert filter').selectOption('unacked');
    await b.page.locator('.state-empty').waitFor();
    await b.page.getByLabel('alert filter').selectOption('firing');
    await r.waitFor();

    // The overview counts it.
    await b.page.click('nav >> text=Overview');
    await waitFor('1 firing on the overview', async () => (await b.page.getByTestId('alerts-firing').textContent()) === '1', { timeoutMs: 10_000 });
    await b.page.click('nav >> text=Alerts');
    await r.waitFor();

    // The next exec.run on that node succeeds: the alert resolves and leaves the firing list live.
    expect((await exec('true')).state).toBe('succeeded');
    await r.waitFor({ state: 'detached', timeout: 10_000 });
    await b.page.getByLabel('alert filter').selectOption('resolved');
    await r.locator('[data-status=resolved]').waitFor();
    await b.shot('22-alerts-resolved');
  });

  it('shows a submitted task, its attempt and its output as it is written', async () => {
    await b.page.click('nav >> text=Tasks');
    await b.page.waitForURL('**/tasks');
    const { task } = await server.client.submitTask({
      kind: 'exec',
      payload: { command: 'sh', args: ['-c', 'echo task-line-1; echo task-err >&2; sleep 1.5; echo task-line-2'] },
      priority: 'high',
    });
    const r = row(task.id);
    await r.waitFor({ timeout: 10_000 });
    expect(await r.locator('[data-col=priority]').textContent()).toBe('high');
    await r.click();
    await b.page.waitForURL(`**/tasks/${task.id}`);
    const out = b.page.getByTestId('task-output');
    // The first line is on the page while the task still runs (sleep 1.5 before the second).
    await out.locator('pre:has-text("task-line-1")').waitFor({ timeout: 10_000 });
    await b.page.locator('[data-testid=task-output][data-status=ended]').waitFor({ timeout: 20_000 });
    const text = (await out.locator('pre').textContent()) ?? '';
    expect(text).toContain('task-line-1\n');
    expect(text).toContain('task-line-2\n');
    expect(await out.locator('.output-err').first().textContent()).toContain('task-err');
    await b.page.locator('h1 [data-status=succeeded]').waitFor();
    const attempts = b.page.locator('[aria-label=attempts] [role=row][data-row-key]');
    expect(await attempts.count()).toBe(1);
    expect(await attempts.first().locator('[data-col=exit]').textContent()).toBe('0');
    await waitFor('the node named', async () => (await attempts.first().locator('[data-col=node]').textContent()) === 'cap-1', { timeoutMs: 10_000 });
    await b.shot('23-task');

    await b.page.click('nav >> text=Tasks');
    await row(task.id).locator('[data-status=succeeded]').waitFor();
    await b.shot('24-tasks');
  });

  it('cancels a running task from its page', async () => {
    const { task } = await server.client.submitTask({ kind: 'exec', payload: { command: 'sleep', args: ['60'] } });
    await row(task.id).locator('[data-status=running]').waitFor({ timeout: 15_000 });
    await row(task.id).click();
    await b.page.locator('button:has-text("Cancel")').click();
    await b.page.locator('h1 [data-status=cancelled]').waitFor({ timeout: 15_000 });
    expect((await server.client.getTask(task.id)).state).toBe('cancelled');
    expect(await b.page.locator('button:has-text("Cancel")').count()).toBe(0);
  });

  it('shows a queued task with the reason it is waiting', async () => {
    const { task } = await server.client.submitTask({ kind: 'exec', payload: { command: 'true' }, requirements: { cpuCores: 100_000 } });
    await b.page.goto(`${server.url}/tasks/${task.id}`);
    const reason = b.page.getByTestId('queued-reason');
    await reason.waitFor({ timeout: 10_000 });
    expect(await reason.textContent()).toMatch(/^Waiting: .+/);
    await b.page.locator('.state-empty:has-text("Not placed yet")').waitFor();
    await b.shot('25-task-queued');
    await server.client.cancelTask(task.id);
    await b.page.locator('h1 [data-status=cancelled]').waitFor({ timeout: 10_000 });

    // A task that does not exist: the API's message and code, and a way to try again.
    await b.page.goto(`${server.url}/tasks/task_doesnotexist`);
    const error = b.page.locator('.state-error');
    await error.waitFor();
    expect(await error.locator('.error-code').textContent()).toBe('not_found');
    expect(await error.locator('button:has-text("Try again")').count()).toBe(1);
  });

  it('shows a service applied through the API with its state on each node, and on the node page', async () => {
    await b.page.click('nav >> text=Services');
    await b.page.waitForURL('**/services');
    await b.page.locator('.state-empty:has-text("No services yet")').waitFor();
    const bytes = await packTarGz({ run: SLEEPER });
    await server.client.putService('dash-svc', {
      version: '1.0.0',
      artifact: { url: artifacts.put('dash-svc-1.tgz', bytes), sha256: sha256(bytes) },
      command: './run',
      target: { nodes: ['cap-1'] },
    });
    await row('dash-svc').waitFor({ timeout: 10_000 });
    const inst = row(`dash-svc/${nodeId}`);
    await inst.locator('[data-status=running]').waitFor({ timeout: 20_000 });
    expect(await inst.locator('[data-col=version]').textContent()).toBe('1.0.0');
    expect(await inst.locator('[data-col=restarts]').textContent()).toBe('0');
    expect(await inst.locator('[data-col=pid]').textContent()).toMatch(/^\d+$/);
    await b.shot('26-services');

    await row('dash-svc').click();
    await b.page.waitForURL('**/services/dash-svc');
    await row(`/${nodeId}`).locator('[data-status=running]').waitFor();
    await b.shot('27-service');

    await b.page.click('nav >> text=Overview');
    await waitFor('no service down on the overview', async () => (await b.page.getByTestId('services-not-running').textContent()) === '0', { timeoutMs: 10_000 });

    await b.page.goto(`${server.url}/nodes/${nodeId}`);
    const onNode = b.page.locator('[aria-label="service instances"]');
    await onNode.locator(`[data-row-key="dash-svc/${nodeId}"] [data-status=running]`).waitFor();
    await b.shot('28-node-services');

    // A service that keeps crashing goes fatal: its state, restarts and reason show live, and the
    // overview counts it as not running.
    const crash = await packTarGz({ run: CRASHER });
    await server.client.putService('dash-crash', {
      version: '0.1.0',
      artifact: { url: artifacts.put('dash-crash.tgz', crash), sha256: sha256(crash) },
      command: './run',
      target: { nodes: ['cap-1'] },
      restart: { initialDelayMs: 50, fatalAfter: { crashes: 2, withinMs: 60_000 } },
    });
    const bad = onNode.locator(`[data-row-key="dash-crash/${nodeId}"]`);
    await bad.locator('[data-status=fatal]').waitFor({ timeout: 20_000 });
    expect(Number(await bad.locator('[data-col=restarts]').textContent())).toBeGreaterThanOrEqual(1);
    expect(await bad.locator('[data-col=reason]').textContent()).toMatch(/\S/);
    await b.shot('28b-node-services-fatal');
    await b.page.click('nav >> text=Overview');
    await waitFor('one service down on the overview', async () => (await b.page.getByTestId('services-not-running').textContent()) === '1', { timeoutMs: 10_000 });
    await server.client.deleteService('dash-crash');
  });

  it('shows a backup run through the API, and restores it from the page', async () => {
    const source = join(agent.dataDir, 'files', 'site');
    mkdirSync(source, { recursive: true });
    writeFileSync(join(source, 'index.html'), '<h1>backed up</h1>');
    await b.page.click('nav >> text=Backups');
    await b.page.waitForURL('**/backups');
    await b.page.locator('.state-empty:has-text("No backups yet")').waitFor();
    const started = await server.client.runBackup({ node: 'cap-1', source });
    expect((await server.client.getCommand(started.command!.id, { wait: 20 })).state).toBe('succeeded');
    const backup = await waitFor('the backup recorded', async () => (await server.client.listBackups()).items[0], { timeoutMs: 10_000 });
    const r = row(backup.id);
    await r.waitFor({ timeout: 10_000 });
    expect(await r.locator('[data-col=source]').textContent()).toBe(source);
    expect(await r.locator('[data-col=files]').textContent()).toBe('1');
    await b.shot('29-backups');

    await r.locator('button:has-text("Restore")').click();
    await b.page.getByLabel('restore target').fill('relative/path');
    await b.page.locator('form[aria-label="restore backup"] button[type=submit]').click();
    // The browser's own check refuses a relative path before any request.
    expect(await b.page.getByTestId('restore-progress').count()).toBe(0);
    // The agent refuses a directory that is not empty; the page shows the command failing and why.
    await b.page.getByLabel('restore target').fill(source);
    await b.page.locator('form[aria-label="restore backup"] button[type=submit]').click();
    await b.page.locator('[data-testid=restore-progress] [data-status=failed]').waitFor({ timeout: 20_000 });
    expect(await b.page.getByTestId('restore-progress').locator('.form-error').textContent()).toMatch(/\S/);
    expect(readFileSync(join(source, 'index.html'), 'utf8')).toBe('<h1>backed up</h1>');
    await b.page.locator('button:has-text("Close")').click();

    await r.locator('button:has-text("Restore")').click();
    const target = join(agent.dataDir, 'files', 'restored');
    await b.page.getByLabel('restore target').fill(target);
    await b.page.locator('form[aria-label="restore backup"] button[type=submit]').click();
    await b.page.locator('[data-testid=restore-progress] [data-status=succeeded]').waitFor({ timeout: 20_000 });
    expect(readFileSync(join(target, 'index.html'), 'utf8')).toBe('<h1>backed up</h1>');
    await b.shot('30-backup-restored');

    await b.page.click('nav >> text=Overview');
    await waitFor('last backup on the overview', async () => /ago|just now/.test((await b.page.getByTestId('last-backup').textContent()) ?? ''), { timeoutMs: 10_000 });
    await b.shot('31-overview-capabilities');
  });

  it('ran without script errors or Content-Security-Policy violations', () => {
    expect(pageErrors).toEqual([]);
  });
});
