import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, StewardClient, type EventStream } from '@steward/client';
import { verifyWebhook } from '@steward/protocol/node';
import { WEBHOOK_HEADERS, type Alert, type MonitorChecksResult, type StewardEvent, type AlertWebhookPayload } from '@steward/protocol';
import { PrivateNginx } from '../support/private-nginx.js';
import { freePort, startAgentProcess, startServerProcess, waitOnline, type AgentProc, type ServerProc } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/** A webhook receiver on loopback: `/ok` answers 200, `/flaky` 500 twice and then 200. */
async function startReceiver(): Promise<{ server: Server; url: string; got: Received[] }> {
  const got: Received[] = [];
  let flaky = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push({ path: req.url ?? '', headers: req.headers, body, at: Date.now() });
      const status = req.url === '/flaky' && flaky++ < 2 ? 500 : 200;
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, got };
}

function verified(r: Received, secret: string): boolean {
  return verifyWebhook(
    secret,
    { signature: r.headers[WEBHOOK_HEADERS.signature] as string, timestamp: r.headers[WEBHOOK_HEADERS.timestamp] as string },
    r.body,
    { toleranceMs: 5 * 60_000 },
  );
}

const BACKOFF_MS = 300;

describe('alerts and webhooks over real processes and a real nginx', { timeout: 60_000 }, () => {
  let server: ServerProc;
  let agent: AgentProc;
  let nginx: PrivateNginx;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let events: EventStream;
  const seen: StewardEvent[] = [];
  let nodeId = '';
  let secret = '';
  let hookId = '';
  let firedAlert: Alert;
  const agentConfig = () => `monitor:\n  checks:\n    - preset: nginx-alive\n      pidFile: ${JSON.stringify(nginx.pidFile)}\n      intervalMs: 200\n`;

  beforeAll(async () => {
    nginx = new PrivateNginx(await freePort());
    await nginx.start();
    receiver = await startReceiver();
    server = await startServerProcess({
      env: {
        STEWARD_ALERT_NODE_OFFLINE_DELAY_MS: '300',
        STEWARD_WEBHOOK_BACKOFF_MS: String(BACKOFF_MS),
        STEWARD_WEBHOOK_MAX_ATTEMPTS: '4',
        STEWARD_ALERT_FAILED_COMMANDS: 'exec.run',
        // The receiver is on loopback, which webhooks may not reach unless allowed (SSRF).
        STEWARD_WEBHOOK_ALLOW: '127.0.0.1',
      },
    });
    events = await server.client.openEvents({ kinds: ['alert.fired', 'alert.resolved', 'alert.acked'] });
    void (async () => {
      for await (const e of events) seen.push(e.event);
    })().catch(() => {});
    const { token } = await server.client.createEnrollmentToken({ ttlSeconds: 600, uses: 1 });
    agent = startAgentProcess({ server: server.url, token, name: 'web-1', labels: ['role=web'], config: agentConfig() });
    await waitOnline(server, 'web-1', agent);
    nodeId = (await server.client.getNode('web-1')).id;
  }, 60_000);

  afterAll(async () => {
    events?.close();
    // Each one stopped even when another fails to: no nginx outlives the suite.
    await Promise.allSettled([agent?.kill(), server?.kill(), nginx?.kill(), new Promise((r) => receiver?.server.close(r))]);
  });

  async function runOn(type: string, payload: Record<string, unknown> = {}) {
    const { command } = await server.client.submitCommand({ node: 'web-1', type, payload });
    return server.client.getCommand(command.id, { wait: 15 });
  }

  it('killing nginx fires an alert (API, SSE, signed webhook); starting it again resolves it', async () => {
    const hook = await server.client.createWebhook({ url: `${receiver.url}/ok`, name: 'pager' });
    expect(hook.secret).toMatch(/^whsec_/);
    expect(hook.events).toEqual(['alert.fired', 'alert.resolved', 'alert.acked']);
    ({ secret, id: hookId } = hook);
    expect((await server.client.listWebhooks()).items.map((w) => [w.id, (w as { secret?: string }).secret])).toEqual([[hookId, undefined]]);

    await waitFor('the nginx check to be ok', async () => {
      const listed = await runOn('monitor.checks.list');
      return (listed.result as MonitorChecksResult).checks.find((c) => c.id === 'nginx-alive')?.state === 'ok';
    });
    const key = `monitor:${nodeId}:nginx-alive`;
    expect((await server.client.listAlerts({ state: 'firing' })).items).toEqual([]);

    await nginx.kill();
    firedAlert = await waitFor('the alert to fire', async () => (await server.client.listAlerts({ state: 'firing', nodeId: 'web-1' })).items.find((a) => a.key === key));
    expect(firedAlert).toMatchObject({ source: 'monitor', nodeId, severity: 'critical', count: 1, ackedAt: null });
    expect(firedAlert.summary).toContain('web-1: process nginx');
    expect(await server.client.getAlert(firedAlert.id)).toEqual(firedAlert);
    await waitFor('alert.fired on SSE', () => seen.some((e) => e.kind === 'alert.fired' && e.alert.id === firedAlert.id));

    const fired = await waitFor('the fired webhook', () => receiver.got.find((r) => r.path === '/ok' && JSON.parse(r.body).event === 'alert.fired'));
    expect(fired.headers['content-type']).toBe('application/json');
    expect(fired.headers[WEBHOOK_HEADERS.event]).toBe('alert.fired');
    expect(verified(fired, secret)).toBe(true);
    const payload = JSON.parse(fired.body) as AlertWebhookPayload;
    expect(payload).toMatchObject({ event: 'alert.fired', alert: { id: firedAlert.id, key, state: 'firing' } });
    expect(fired.headers[WEBHOOK_HEADERS.delivery]).toBe(payload.id);
    // Negative checks: a wrong secret, a changed body or a changed timestamp do not verify.
    expect(verified(fired, 'whsec_wrong')).toBe(false);
    expect(verified({ ...fired, body: fired.body.replace('firing', 'resolved') }, secret)).toBe(false);
    expect(verified({ ...fired, headers: { ...fired.headers, [WEBHOOK_HEADERS.timestamp]: String(Date.now()) } }, secret)).toBe(false);

    await nginx.start();
    const resolved = await waitFor('the alert to resolve', async () => {
      const a = await server.client.getAlert(firedAlert.id);
      return a.state === 'resolved' && a;
    });
    expect(resolved.resolvedAt).toBeGreaterThanOrEqual(firedAlert.lastFiredAt);
    expect(resolved.resolveSummary).toContain('is running');
    await waitFor('alert.resolved on SSE', () => seen.some((e) => e.kind === 'alert.resolved' && e.alert.id === firedAlert.id));
    const back = await waitFor('the resolved webhook', () => receiver.got.find((r) => r.path === '/ok' && JSON.parse(r.body).event === 'alert.resolved'));
    expect(verified(back, secret)).toBe(true);
    expect((JSON.parse(back.body) as AlertWebhookPayload).alert).toMatchObject({ id: firedAlert.id, state: 'resolved' });

    const log = await waitFor('both deliveries recorded', async () => {
      const { items } = await server.client.listWebhookDeliveries(hookId);
      return items.length === 2 && items.every((d) => d.state === 'succeeded') && items;
    });
    expect(log.map((d) => d.event)).toEqual(['alert.resolved', 'alert.fired']);
    for (const d of log) expect(d.attempts).toEqual([expect.objectContaining({ n: 1, statusCode: 200, error: null })]);
  });

  it('ack records who and when; acking again keeps the first; a bad id is 404', async () => {
    const flaky = await server.client.createWebhook({ url: `${receiver.url}/flaky`, events: ['alert.acked'] });
    const acked = await server.client.ackAlert(firedAlert.id);
    expect(acked).toMatchObject({ id: firedAlert.id, ackedBy: 'admin' });
    expect(acked.ackedAt).toBeGreaterThan(0);
    expect(await server.client.ackAlert(firedAlert.id)).toEqual(acked);
    await waitFor('alert.acked on SSE', () => seen.some((e) => e.kind === 'alert.acked' && e.alert.id === firedAlert.id));
    expect((await server.client.listAlerts({ acked: true })).items.map((a) => a.id)).toEqual([firedAlert.id]);
    const err = (await server.client.ackAlert('alert_nope').catch((e: unknown) => e)) as ApiError;
    expect([err.status, err.code]).toEqual([404, 'not_found']);
    expect(((await server.client.getAlert('alert_nope').catch((e: unknown) => e)) as ApiError).status).toBe(404);

    // The flaky receiver answers 500 twice, then 200: three attempts, with growing backoff between them.
    const delivery = await waitFor(
      'the flaky delivery to succeed',
      async () => {
        const { items } = await server.client.listWebhookDeliveries(flaky.id);
        return items[0]?.state === 'succeeded' && items[0];
      },
      { timeoutMs: 20_000 },
    );
    expect(delivery.event).toBe('alert.acked');
    expect(delivery.attempts.map((a) => [a.n, a.statusCode, a.error])).toEqual([
      [1, 500, 'answered 500'],
      [2, 500, 'answered 500'],
      [3, 200, null],
    ]);
    const [a1, a2, a3] = delivery.attempts as [typeof delivery.attempts[0], typeof delivery.attempts[0], typeof delivery.attempts[0]];
    expect(a2.at - a1.at).toBeGreaterThanOrEqual(BACKOFF_MS);
    expect(a3.at - a2.at).toBeGreaterThanOrEqual(2 * BACKOFF_MS);
    const flakyGot = receiver.got.filter((r) => r.path === '/flaky');
    expect(flakyGot).toHaveLength(3);
    // Every attempt is signed afresh (new timestamp) over the same body.
    expect(new Set(flakyGot.map((r) => r.body)).size).toBe(1);
    for (const r of flakyGot) expect(verified(r, flaky.secret)).toBe(true);
    // The fired/resolved webhook was not sent the ack, which it subscribes to as well: it got it once.
    await waitFor('the ack on /ok', () => receiver.got.some((r) => r.path === '/ok' && JSON.parse(r.body).event === 'alert.acked'));
    await server.client.deleteWebhook(flaky.id);
    expect(((await server.client.listWebhookDeliveries(flaky.id).catch((e: unknown) => e)) as ApiError).status).toBe(404);
  });

  it('monitor.checks.set through a job by selector replaces the checks; a removed firing check resolves', async () => {
    const port = await freePort();
    const job = await server.client.createJob({
      target: { selector: 'role=web' },
      type: 'monitor.checks.set',
      payload: { checks: [{ id: 'api', kind: 'tcp', host: '127.0.0.1', port, intervalMs: 200, failuresBeforeFiring: 2 }] },
    });
    const done = await server.client.getJob(job.id, { wait: 15 });
    expect(done.state).toBe('succeeded');
    expect(done.commands[0]!.result).toMatchObject({ changed: true, source: 'control-plane', checks: [{ id: 'api', kind: 'tcp' }] });
    const apiKey = `monitor:${nodeId}:api`;
    const apiAlert = await waitFor('the tcp alert', async () => (await server.client.listAlerts({ state: 'firing' })).items.find((a) => a.key === apiKey));
    expect(apiAlert.summary).toContain(`tcp 127.0.0.1:${port}`);
    expect(apiAlert.severity).toBe('warning');
    // Back to the config file's checks: the api check is gone, so its alert resolves.
    const cleared = await runOn('monitor.checks.clear');
    expect(cleared.result).toMatchObject({ changed: true, source: 'config', checks: [{ id: 'nginx-alive' }] });
    const closed = await waitFor('the removed check to resolve', async () => {
      const a = await server.client.getAlert(apiAlert.id);
      return a.state === 'resolved' && a;
    });
    expect(closed.resolveSummary).toBe('check api was removed');
  });

  it('an agent restart keeps the alert of a check still failing as it was: same id, still acked, no webhook', async () => {
    const port = await freePort();
    // Several failures before firing: the restarted agent reports the check unknown, then failing, for a while.
    const checks = [{ id: 'db', kind: 'tcp', host: '127.0.0.1', port, intervalMs: 250, failuresBeforeFiring: 4 }];
    expect((await runOn('monitor.checks.set', { checks })).state).toBe('succeeded');
    const key = `monitor:${nodeId}:db`;
    const alert = await waitFor('the tcp alert', async () => (await server.client.listAlerts({ state: 'firing' })).items.find((a) => a.key === key));
    const acked = await server.client.ackAlert(alert.id);
    // The node's own offline alert comes and goes with the restart; this alert's deliveries must not.
    const deliveriesOf = async () => (await server.client.listWebhookDeliveries(hookId)).items.filter((d) => d.alertId === alert.id).map((d) => d.event);
    await waitFor('the ack delivery', async () => (await deliveriesOf()).includes('alert.acked'));
    expect(await deliveriesOf()).toEqual(['alert.acked', 'alert.fired']);

    await agent.kill();
    agent = startAgentProcess({ server: server.url, dataDir: agent.dataDir, config: agentConfig() });
    await waitOnline(server, 'web-1', agent);
    // Positive marker: the restarted agent's check fires again, and two later heartbeats carry that report.
    const firing = await waitFor('the restarted check to fire', async () => {
      const c = ((await runOn('monitor.checks.list')).result as MonitorChecksResult).checks.find((x) => x.id === 'db');
      return c?.state === 'firing' && c;
    });
    expect(firing.lastRunAt).toBeGreaterThan(acked.ackedAt!);
    const seenAt = async () => (await server.client.getNode('web-1')).lastSeenAt ?? 0;
    const after = Date.now();
    const first = await waitFor('a heartbeat after the check fired', async () => {
      const at = await seenAt();
      return at > after && at;
    });
    await waitFor('another heartbeat', async () => (await seenAt()) > first);

    expect(await server.client.getAlert(alert.id)).toEqual(acked);
    expect((await server.client.listAlerts({ nodeId: 'web-1' })).items.filter((a) => a.key === key).map((a) => a.id)).toEqual([alert.id]);
    expect(await deliveriesOf()).toEqual(['alert.acked', 'alert.fired']);
    const changes = seen.filter((e) => (e.kind === 'alert.fired' || e.kind === 'alert.resolved') && e.alert.key === key);
    expect(changes.map((e) => e.kind)).toEqual(['alert.fired']);

    await runOn('monitor.checks.clear');
    await waitFor('the removed check to resolve', async () => (await server.client.getAlert(alert.id)).state === 'resolved');
  });

  it('a failed command of a type asked for raises an alert; the next success resolves it', async () => {
    const failed = await runOn('exec.run', { command: 'false' });
    expect(failed.state).toBe('failed');
    const key = `command:${nodeId}:exec.run`;
    const alert = await waitFor('the command alert', async () => (await server.client.listAlerts({ state: 'firing', source: 'command' })).items.find((a) => a.key === key));
    expect(alert.summary).toBe('exec.run failed on web-1: exited with code 1');
    await runOn('exec.run', { command: 'false' });
    await waitFor('the count to go up', async () => (await server.client.getAlert(alert.id)).count === 2);
    expect((await runOn('exec.run', { command: 'true' })).state).toBe('succeeded');
    await waitFor('the command alert to resolve', async () => (await server.client.getAlert(alert.id)).state === 'resolved');
    // Types not asked for raise nothing: a failure of a type asked for, after it, raises its
    // alert, and it is the only one firing.
    expect((await runOn('fs.read', { path: '/nonexistent/x' })).state).toBe('failed');
    expect((await runOn('exec.run', { command: 'false' })).state).toBe('failed');
    const later = await waitFor('the later command alert', async () => (await server.client.listAlerts({ state: 'firing', source: 'command' })).items.find((a) => a.key === key));
    expect((await server.client.listAlerts({ state: 'firing' })).items.map((a) => a.key)).toEqual([key]);
    expect((await runOn('exec.run', { command: 'true' })).state).toBe('succeeded');
    await waitFor('the later command alert to resolve', async () => (await server.client.getAlert(later.id)).state === 'resolved');
  });

  it('bad input is 400 naming the field; readers may not see webhooks', async () => {
    const errOf = async (p: Promise<unknown>) => (await p.catch((e: unknown) => e)) as ApiError;
    const issues = (e: ApiError) => (e.details as { issues: { field: string }[] }).issues.map((i) => i.field);
    let e = await errOf(server.client.createWebhook({ url: 'ftp://example.com/x' }));
    expect([e.status, e.code]).toEqual([400, 'validation_failed']);
    expect(issues(e).join()).toContain('url');
    e = await errOf(server.client.createWebhook({ url: 'http://u:p@example.com/' }));
    expect(issues(e)).toEqual(['url']);
    // Loopback outside the allowlist, private, link-local (cloud metadata) and IPv6 loopback: refused, nothing added.
    for (const url of ['http://127.0.0.2:9/', 'http://10.0.0.5/hook', 'http://169.254.169.254/latest/meta-data/', 'http://[::1]:80/', 'http://localhost:9/']) {
      e = await errOf(server.client.createWebhook({ url }));
      expect([e.status, e.code], url).toEqual([422, 'destination_refused']);
      expect(e.message).toContain('--webhook-allow');
    }
    e = await errOf(server.client.createWebhook({ url: 'http://example.com/', events: ['alert.nope' as never] }));
    expect(e.status).toBe(400);
    expect(issues(e).join()).toContain('events');
    e = await errOf(server.client.listAlerts({ state: 'bogus' as never }));
    expect([e.status, issues(e).join()]).toEqual([400, expect.stringContaining('state')]);
    e = await errOf(server.client.submitCommand({ node: 'web-1', type: 'monitor.checks.set', payload: { checks: [{ id: 'x', kind: 'tcp', host: 'h', port: 70000 }] } }));
    expect(e.status).toBe(400);
    expect(e.message).toContain('payload.checks[0].port');
    expect((await server.client.listWebhooks()).items).toHaveLength(1);
    const paths = Object.keys(((await server.client.openApi()) as { paths: Record<string, unknown> }).paths);
    expect(paths).toEqual(expect.arrayContaining(['/api/v1/alerts', '/api/v1/alerts/{id}/ack', '/api/v1/webhooks', '/api/v1/webhooks/{id}/deliveries']));

    const reader = await server.client.createToken({ name: 'viewer', role: 'reader' });
    const asReader = new StewardClient({ baseUrl: server.url, token: reader.token });
    expect((await errOf(asReader.listWebhooks())).status).toBe(403);
    expect((await asReader.listAlerts()).items.length).toBeGreaterThan(0);
    expect((await errOf(asReader.ackAlert(firedAlert.id))).status).toBe(403);
  });

  it('a node that goes offline fires an alert after the delay; reconnecting resolves it', async () => {
    await agent.kill();
    const key = `node:${nodeId}:offline`;
    const alert = await waitFor('the offline alert', async () => (await server.client.listAlerts({ state: 'firing', source: 'node' })).items.find((a) => a.key === key), { timeoutMs: 20_000 });
    expect(alert).toMatchObject({ severity: 'critical', summary: 'node web-1 is offline', nodeId });
    await waitFor('alert.fired for the node on SSE', () => seen.some((e) => e.kind === 'alert.fired' && e.alert.id === alert.id));
    agent = startAgentProcess({ server: server.url, dataDir: agent.dataDir, config: agentConfig() });
    await waitOnline(server, 'web-1', agent);
    const resolved = await waitFor('the offline alert to resolve', async () => {
      const a = await server.client.getAlert(alert.id);
      return a.state === 'resolved' && a;
    });
    expect(resolved.resolveSummary).toBe('node web-1 is back online');
    await waitFor('the webhook for the node alert', () =>
      receiver.got.some((r) => r.path === '/ok' && (JSON.parse(r.body) as AlertWebhookPayload).alert.id === alert.id && JSON.parse(r.body).event === 'alert.resolved'),
    );
  });
});
