import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { WEBHOOK_HEADERS } from '@steward/protocol';
import { freshPgDatabase } from '../support/pg.js';
import { freePort, startAgentProcess, startServerProcess, waitOnline, type AgentProc, type ServerProc } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

/** Agent config with `n` TCP checks on a closed port that fire on the first failure. */
function failingChecks(port: number, n: number): string {
  const checks = Array.from({ length: n }, (_, i) => `    - { id: down-${i}, kind: tcp, host: 127.0.0.1, port: ${port}, intervalMs: 200, failuresBeforeFiring: 1 }`);
  return `monitor:\n  checks:\n${checks.join('\n')}\n`;
}

async function receiverOn(port: number, got: { delivery: string; event: string }[]): Promise<Server> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      got.push({ delivery: String(req.headers[WEBHOOK_HEADERS.delivery]), event: String(req.headers[WEBHOOK_HEADERS.event]) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return server;
}

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c().catch(() => {});
});

describe('webhook deliveries across restarts and replicas', { timeout: 60_000 }, () => {
  it('a delivery still pending when the control plane is killed goes out after it restarts', async () => {
    // A short attempt timeout keeps the lease short, in case the kill lands mid-attempt.
    const env = { STEWARD_WEBHOOK_BACKOFF_MS: '200', STEWARD_WEBHOOK_BACKOFF_MAX_MS: '400', STEWARD_WEBHOOK_MAX_ATTEMPTS: '50', STEWARD_WEBHOOK_TIMEOUT_MS: '1000', STEWARD_WEBHOOK_ALLOW: '127.0.0.1' };
    let server: ServerProc = await startServerProcess({ env });
    cleanup.push(() => server.kill());
    const receiverPort = await freePort();
    const hook = await server.client.createWebhook({ url: `http://127.0.0.1:${receiverPort}/hook`, events: ['alert.fired'] });
    const { token } = await server.client.createEnrollmentToken({});
    const agent: AgentProc = startAgentProcess({ server: server.url, token, name: 'n1', config: failingChecks(await freePort(), 1) });
    cleanup.push(() => agent.kill());
    await waitOnline(server, 'n1', agent);
    // Nobody listens yet: attempts fail and the delivery waits for its next try.
    const pending = await waitFor('two failed attempts', async () => {
      const d = (await server.client.listWebhookDeliveries(hook.id)).items[0];
      return d && d.attempts.length >= 2 && d;
    });
    expect(pending.state).toBe('pending');
    expect(pending.attempts[0]!.error).toBe('ECONNREFUSED');

    await server.kill('SIGKILL');
    await agent.kill();
    const got: { delivery: string; event: string }[] = [];
    const receiver = await receiverOn(receiverPort, got);
    cleanup.push(() => new Promise((r) => receiver.close(r)));
    server = await startServerProcess({ dataDir: server.dataDir, port: server.port, env });
    const done = await waitFor(
      'the delivery to succeed after the restart',
      async () => {
        const d = (await server.client.listWebhookDeliveries(hook.id)).items[0];
        return d?.state === 'succeeded' && d;
      },
      { timeoutMs: 20_000 },
    );
    expect(done.id).toBe(pending.id);
    expect(done.attempts.at(-1)).toMatchObject({ statusCode: 204, error: null });
    expect(done.attempts.map((a) => a.n)).toEqual(done.attempts.map((_, i) => i + 1));
    expect(got).toEqual([{ delivery: pending.id, event: 'alert.fired' }]);
  });

  it('two replicas on one PostgreSQL send each delivery exactly once', async () => {
    const db = await freshPgDatabase();
    cleanup.push(() => db.drop());
    const a = await startServerProcess({ db: db.url, env: { STEWARD_WEBHOOK_ALLOW: '127.0.0.1' } });
    cleanup.push(() => a.kill());
    const b = await startServerProcess({ db: db.url, token: a.token, env: { STEWARD_WEBHOOK_ALLOW: '127.0.0.1' } });
    cleanup.push(() => b.kill());
    const got: { delivery: string; event: string }[] = [];
    const receiver = await receiverOn(await freePort(), got);
    cleanup.push(() => new Promise((r) => receiver.close(r)));
    const url = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/`;
    const hooks = await Promise.all([1, 2, 3].map((i) => (i % 2 ? a : b).client.createWebhook({ url, name: `h${i}` })));
    const { token } = await a.client.createEnrollmentToken({});
    const agent = startAgentProcess({ server: a.url, token, name: 'pg-node', config: failingChecks(await freePort(), 8) });
    cleanup.push(() => agent.kill());
    await waitOnline(a, 'pg-node', agent);
    await waitFor('8 alerts', async () => (await b.client.listAlerts({ state: 'firing' })).items.length === 8);
    const all = await waitFor('24 deliveries succeeded', async () => {
      const lists = await Promise.all(hooks.map((h) => b.client.listWebhookDeliveries(h.id)));
      const items = lists.flatMap((l) => l.items);
      return items.length === 24 && items.every((d) => d.state === 'succeeded') && items;
    });
    // A graceful stop waits for each replica's running delivery round, so once both have
    // stopped no request is in flight: count one request and one attempt per delivery.
    await agent.kill();
    await Promise.all([a.kill(), b.kill()]);
    for (const r of [a, b]) expect(r.output()).toContain('control plane stopped');
    expect(got).toHaveLength(24);
    expect(new Set(got.map((g) => g.delivery))).toEqual(new Set(all.map((d) => d.id)));
    for (const d of all) expect(d.attempts).toHaveLength(1);
  });
});
