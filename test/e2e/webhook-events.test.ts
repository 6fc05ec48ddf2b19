import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEBHOOK_HEADERS, type WebhookPayload } from '@steward/protocol';
import { verifyWebhook } from '@steward/protocol/node';
import { addAgent, freePort, startServerProcess, type AgentProc, type ServerProc } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

interface Got {
  path: string;
  event: string;
  body: string;
  signature: string;
  timestamp: string;
}

/** A receiver that records every POST by path (one path per webhook). */
async function receiver(got: Got[]): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (b: Buffer) => parts.push(b));
    req.on('end', () => {
      got.push({
        path: req.url ?? '',
        event: String(req.headers[WEBHOOK_HEADERS.event]),
        body: Buffer.concat(parts).toString('utf8'),
        signature: String(req.headers[WEBHOOK_HEADERS.signature]),
        timestamp: String(req.headers[WEBHOOK_HEADERS.timestamp]),
      });
      res.writeHead(204).end();
    });
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { server, port };
}

describe('webhooks for command, job and task events, with filters', { timeout: 120_000 }, () => {
  let server: ServerProc;
  const agents: AgentProc[] = [];
  const got: Got[] = [];
  let rx: { server: Server; port: number };
  const hooks: Record<string, { id: string; secret: string }> = {};
  const bodiesOf = (path: string) => got.filter((g) => g.path === path).map((g) => JSON.parse(g.body) as WebhookPayload);

  beforeAll(async () => {
    server = await startServerProcess({ env: { STEWARD_WEBHOOK_ALLOW: '127.0.0.1' } });
    rx = await receiver(got);
    agents.push(await addAgent(server, 'web-1', ['role=web']));
    agents.push(await addAgent(server, 'db-1', ['role=db']));
    const add = async (name: string, body: Record<string, unknown>) => {
      const h = await server.client.createWebhook({ url: `http://127.0.0.1:${rx.port}/${name}`, name, ...body } as never);
      hooks[name] = { id: h.id, secret: h.secret };
    };
    // Everything about commands, jobs and tasks: the marker that an event was handled.
    await add('all', { events: ['command.finished', 'job.finished', 'task.finished'] });
    // Only failed exec.run commands on web nodes.
    await add('web-failures', { events: ['command.finished'], filter: { types: ['exec.*'], states: ['failed'], selector: 'role=web' } });
    // Alert events only (the default): must get none of these.
    await add('alerts', {});
  });

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.kill()));
    await server?.kill();
    await new Promise((r) => rx?.server.close(r));
  });

  it('a command.finished webhook gets the final command once, signed; its filter picks type, state and node', async () => {
    const run = async (node: string, command: string) =>
      (await server.client.submitCommand({ node, type: 'exec.run', payload: { command: 'sh', args: ['-c', command] } })).command.id;
    const dbFail = await run('db-1', 'exit 3');
    const webOk = await run('web-1', 'true');
    const webFail = await run('web-1', 'echo boom >&2; exit 4');
    for (const id of [dbFail, webOk, webFail]) await server.client.getCommand(id, { wait: 20 });

    // The unfiltered hook heard all three, so the filtered one was decided for all three too
    // (both are queued in one transaction per event).
    await waitFor('all three commands on the unfiltered hook', () =>
      [dbFail, webOk, webFail].every((id) => bodiesOf('/all').some((b) => b.event === 'command.finished' && b.command.id === id)),
    );
    const all = (await server.client.listWebhookDeliveries(hooks.all!.id)).items.filter((d) => d.event === 'command.finished');
    expect(new Set(all.map((d) => d.subject))).toEqual(new Set([dbFail, webOk, webFail]));
    expect(all.every((d) => d.alertId === null)).toBe(true);

    const filtered = await waitFor('the web failure delivered', async () => {
      const items = (await server.client.listWebhookDeliveries(hooks['web-failures']!.id)).items;
      return items.length > 0 && items.every((d) => d.state === 'succeeded') && items;
    });
    expect(filtered.map((d) => d.subject)).toEqual([webFail]);
    const [body] = bodiesOf('/web-failures');
    expect(bodiesOf('/web-failures')).toHaveLength(1);
    if (body?.event !== 'command.finished') throw new Error(`unexpected ${body?.event}`);
    expect(body.command).toMatchObject({ id: webFail, type: 'exec.run', state: 'failed' });
    const raw = got.find((g) => g.path === '/web-failures')!;
    expect(raw.event).toBe('command.finished');
    expect(verifyWebhook(hooks['web-failures']!.secret, { signature: raw.signature, timestamp: raw.timestamp }, raw.body)).toBe(true);
    // Alert-only hooks are not told of commands.
    expect((await server.client.listWebhookDeliveries(hooks.alerts!.id)).items).toEqual([]);
  });

  it('job.finished carries the job with its counts; task.finished the task', async () => {
    const job = await server.client.createJob({ target: { all: true }, type: 'sys.ping' });
    const { task } = await server.client.submitTask({ kind: 'exec', payload: { command: 'true' }, requirements: { selector: 'role=db' } });
    const jobBody = await waitFor('job.finished', () => bodiesOf('/all').find((b) => b.event === 'job.finished' && b.job.id === job.id));
    if (jobBody.event !== 'job.finished') throw new Error('narrowing');
    expect(jobBody.job).toMatchObject({ state: 'succeeded', total: 2 });
    const taskBody = await waitFor('task.finished', () => bodiesOf('/all').find((b) => b.event === 'task.finished' && b.task.id === task.id), { timeoutMs: 30_000 });
    if (taskBody.event !== 'task.finished') throw new Error('narrowing');
    expect(taskBody.task).toMatchObject({ state: 'succeeded', kind: 'exec' });
    // Each end is delivered once: the job's two commands and the task's attempt command are
    // command.finished events of their own, not repeats of job.finished or task.finished.
    const ends = (await server.client.listWebhookDeliveries(hooks.all!.id)).items.filter((d) => d.event !== 'command.finished');
    expect(ends.filter((d) => d.subject === job.id)).toHaveLength(1);
    expect(ends.filter((d) => d.subject === task.id)).toHaveLength(1);
  });

  it('refuses a filter with a bad selector or an unknown event, and creates nothing', async () => {
    const before = (await server.client.listWebhooks()).items.length;
    for (const body of [
      { url: `http://127.0.0.1:${rx.port}/x`, events: ['command.finished'], filter: { selector: 'role=' + 'x'.repeat(100) } },
      { url: `http://127.0.0.1:${rx.port}/x`, events: ['command.finished'], filter: { selector: '=nokey' } },
      { url: `http://127.0.0.1:${rx.port}/x`, events: ['command.exploded'] },
      { url: `http://127.0.0.1:${rx.port}/x`, events: ['command.finished'], filter: { types: ['exec run'] } },
    ]) {
      const e = await server.client.createWebhook(body as never).catch((x: unknown) => x);
      expect(e).toMatchObject({ status: 400, code: 'validation_failed' });
    }
    expect((await server.client.listWebhooks()).items).toHaveLength(before);
  });
});
