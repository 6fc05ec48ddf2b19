import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Alert, WebhookCreated } from '@steward/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startAgentProcess, startServerProcess, waitOnline, type AgentProc, type ServerProc } from '../../../test/support/processes.js';
import { waitFor } from '../../../test/support/wait.js';
import { cleanEnv, runCli } from './helpers/cli.js';

describe('steward alerts / steward webhooks', { timeout: 60_000 }, () => {
  let server: ServerProc;
  let agent: AgentProc;
  let receiver: Server;
  let receiverUrl = '';
  let alert: Alert;
  const cli = (args: string[]) => runCli(args, { env: cleanEnv({ STEWARD_SERVER: server.url, STEWARD_TOKEN: server.token }) });

  beforeAll(async () => {
    receiver = createServer((req, res) => req.resume().on('end', () => res.writeHead(200).end()));
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    server = await startServerProcess({ env: { STEWARD_WEBHOOK_ALLOW: '127.0.0.1' } });
    const { token } = await server.client.createEnrollmentToken({});
    const port = await freePort();
    agent = startAgentProcess({
      server: server.url,
      token,
      name: 'cli-node',
      config: `monitor:\n  checks:\n    - { id: db, kind: tcp, host: 127.0.0.1, port: ${port}, intervalMs: 200, failuresBeforeFiring: 1 }\n`,
    });
    await waitOnline(server, 'cli-node', agent);
    alert = await waitFor('the alert', async () => (await server.client.listAlerts({ state: 'firing' })).items[0]);
  }, 60_000);

  afterAll(async () => {
    await agent?.kill();
    await server?.kill();
    await new Promise((r) => receiver?.close(r));
  });

  it('webhooks add prints the secret once; ls, deliveries and rm work; a bad event is refused', async () => {
    const added = await cli(['webhooks', 'add', receiverUrl, '--name', 'ops', '--event', 'alert.acked', '--json']);
    expect(added.code).toBe(0);
    const hook = JSON.parse(added.stdout) as WebhookCreated;
    expect(hook).toMatchObject({ name: 'ops', events: ['alert.acked'], url: receiverUrl });
    expect(hook.secret).toMatch(/^whsec_/);
    const ls = await cli(['webhooks', 'ls']);
    expect(ls.stdout).toContain(hook.id);
    expect(ls.stdout).not.toContain(hook.secret);
    const bad = await cli(['webhooks', 'add', receiverUrl, '--event', 'alert.nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('alert.fired');

    const acked = await cli(['alerts', 'ack', alert.id]);
    expect(acked.code).toBe(0);
    expect(acked.stdout).toContain(`${alert.id}: acknowledged by admin`);
    await waitFor('the ack delivered', async () => (await server.client.listWebhookDeliveries(hook.id)).items[0]?.state === 'succeeded');
    const log = await cli(['webhooks', 'deliveries', hook.id]);
    expect(log.code).toBe(0);
    expect(log.stdout).toMatch(new RegExp(`alert.acked  alert ${alert.id}  succeeded\\n  #1  \\S+  200  \\d+ms`));

    expect((await cli(['webhooks', 'rm', hook.id])).stdout).toContain(`deleted ${hook.id}`);
    const gone = await cli(['webhooks', 'rm', hook.id]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('does not exist');
  });

  it('alerts (ls by default) lists firing alerts; show prints one; --json; a bad id fails', async () => {
    const ls = await cli(['alerts']);
    expect(ls.code).toBe(0);
    const [header, row] = ls.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ID\s+STATE\s+SEVERITY\s+ACK\s+COUNT\s+LAST FIRED\s+SUMMARY$/);
    expect(row).toContain(alert.id);
    expect(row).toContain('cli-node: tcp 127.0.0.1:');
    const json = JSON.parse((await cli(['alerts', 'ls', '--all', '--node', 'cli-node', '--json'])).stdout) as Alert[];
    expect(json.map((a) => a.id)).toEqual([alert.id]);
    // The first test acknowledged it.
    expect((await cli(['alerts', 'ls', '--unacked'])).stdout.trim()).toBe('no firing alerts');
    const show = await cli(['alerts', 'show', alert.id]);
    expect(show.stdout).toContain(`key:         monitor:${alert.nodeId}:db`);
    expect(show.stdout).toContain('source:      monitor');
    expect(show.stdout).toContain(`node:        cli-node (${alert.nodeId})`);
    const missing = await cli(['alerts', 'ack', 'alert_nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('alert "alert_nope" does not exist');
    expect((await cli(['alerts', 'ls', '--state', 'open'])).code).toBe(2);
  });
});
