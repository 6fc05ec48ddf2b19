import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_ENROLL_PATH, JOB_CREATED_PAGE, type JobDetail } from '@steward/protocol';
import { addAgent, startServerProcess, STEWARD_BIN, type AgentProc, type ServerProc } from '../support/processes.js';
import { rawInventory } from '../support/raw-agent.js';

const run = promisify(execFile);
const inventory = rawInventory('raw', { modules: ['sys'], commandTypes: [{ type: 'sys.ping', module: 'sys', safeToRerun: true }] });
/** More nodes than the create answer's first page holds; enrolled only (no agent), so their commands stay pending. */
const PARKED = JOB_CREATED_PAGE + 20;

/**
 * A job bigger than one page: POST /jobs answers a summary with the first page, GET pages on by
 * cursor (stable, validated), and `steward run` still prints every node's result.
 */
describe('job paging', () => {
  let server: ServerProc;
  const agents: AgentProc[] = [];

  beforeAll(async () => {
    server = await startServerProcess();
    const { token } = await server.client.createEnrollmentToken({ uses: PARKED, labels: { group: 'parked' } });
    for (let i = 0; i < PARKED; i++) {
      const name = `parked-${String(i).padStart(3, '0')}`;
      const res = await fetch(server.url + AGENT_ENROLL_PATH, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token, name, inventory: { ...inventory, hostname: name } }),
      });
      expect(res.status).toBe(201);
    }
    agents.push(...(await Promise.all(['one', 'two', 'three'].map((n) => addAgent(server, `live-${n}`, ['group=live'])))));
  }, 120_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.kill()));
    await server?.kill();
  });

  const get = async (path: string) => {
    const res = await fetch(server.url + path, { headers: { authorization: `Bearer ${server.token}` } });
    return { status: res.status, body: (await res.json()) as JobDetail & { error?: { code: string } } };
  };

  it('answers a create with a summary and pages the commands by a stable cursor', async () => {
    const created = await server.client.createJob({ target: { selector: 'group=parked' }, type: 'sys.ping' });
    expect(created.total).toBe(PARKED);
    expect(created.counts).toEqual({ pending: PARKED });
    expect(created.commands).toHaveLength(JOB_CREATED_PAGE);
    expect(created.next).toBe(created.commands[JOB_CREATED_PAGE - 1]!.id);

    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const { status, body } = await get(`/api/v1/jobs/${created.id}?limit=50${after ? `&after=${encodeURIComponent(after)}` : ''}`);
      expect(status).toBe(200);
      expect(body.total).toBe(PARKED);
      expect(body.commands.length).toBeLessThanOrEqual(50);
      seen.push(...body.commands.map((c) => c.id));
      after = body.next;
      pages++;
    } while (after);
    expect(pages).toBe(Math.ceil(PARKED / 50));
    expect(new Set(seen).size).toBe(PARKED);
    expect(seen).toEqual([...seen].sort());
    // The create's first page is the GET's first page.
    expect(seen.slice(0, JOB_CREATED_PAGE)).toEqual(created.commands.map((c) => c.id));

    // The same cursor gives the same page; the whole job in one read has no next.
    const again = await get(`/api/v1/jobs/${created.id}?limit=50&after=${encodeURIComponent(seen[49]!)}`);
    expect(again.body.commands.map((c) => c.id)).toEqual(seen.slice(50, 100));
    const whole = await server.client.getJob(created.id);
    expect(whole.commands.map((c) => c.id)).toEqual(seen);
    expect(whole.next).toBeNull();
  });

  it('refuses a bad limit with 400, not 500', async () => {
    const job = await server.client.createJob({ target: { selector: 'group=parked' }, type: 'sys.ping' });
    for (const limit of ['0', '-1', '10001', 'many']) {
      const { status, body } = await get(`/api/v1/jobs/${job.id}?limit=${limit}`);
      expect(status, `limit=${limit}`).toBe(400);
      expect(body.error?.code).toBe('validation_failed');
    }
    expect((await get(`/api/v1/jobs/${job.id}?after=`)).status).toBe(400);
  });

  it('steward run prints every node\'s result when the job spans several pages', async () => {
    const env = { ...process.env, STEWARD_SERVER: server.url, STEWARD_TOKEN: server.token, STEWARD_JOB_PAGE_SIZE: '1' };
    const { stdout } = await run(process.execPath, [STEWARD_BIN, 'run', '--selector', 'group=live', '--json', '--', 'echo', 'paged'], { env, timeout: 60_000 });
    const done = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; results?: { node: string; state: string }[] })
      .find((e) => e.event === 'done')!;
    expect(done.results!.map((r) => r.node).sort()).toEqual(['live-one', 'live-three', 'live-two']);
    expect(done.results!.every((r) => r.state === 'succeeded')).toBe(true);
  });
});
