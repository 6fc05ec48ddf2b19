import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addAgent, heartbeatsAfter, startServerProcess, type AgentProc, type ServerProc } from '../support/processes.js';
import { parseMetrics } from '../support/metrics.js';
import { waitFor } from '../support/wait.js';

/** /metrics, text and CSV listings, /docs, node samples and the page's fallback, over a real control plane and agent. */
describe('observability endpoints', () => {
  let server: ServerProc;
  let agent: AgentProc;
  let reader = '';
  let nodeId = '';

  beforeAll(async () => {
    server = await startServerProcess({ env: { STEWARD_ALERT_FAILED_COMMANDS: 'exec.run' } });
    agent = await addAgent(server, 'obs-1', ['env=lab', 'role=web']);
    nodeId = (await server.client.getNode('obs-1')).id;
    reader = (await server.client.createToken({ name: 'prometheus', role: 'reader' })).token;
  }, 60_000);

  afterAll(async () => {
    await agent?.kill();
    await server?.kill();
  });

  const get = (path: string, token: string | null = server.token, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, { headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });

  /** The value of one sample line, e.g. `steward_nodes{status="online"}`; 0 when absent. */
  const value = (text: string, series: string): number => parseMetrics(text).value(series);

  it('/metrics needs a token; a reader token is enough', async () => {
    const anon = await get('/metrics', null);
    expect(anon.status).toBe(401);
    expect(((await anon.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    const res = await get('/metrics', reader);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    for (const name of [
      'steward_nodes',
      'steward_agents_connected',
      'steward_heartbeats_received_total',
      'steward_commands',
      'steward_command_transitions_total',
      'steward_command_round_trip_seconds',
      'steward_job_queue_depth',
      'steward_jobs_running',
      'steward_task_queue_depth',
      'steward_task_attempts_active',
      'steward_service_instances',
      'steward_alerts_firing',
      'steward_store_query_seconds',
      'steward_process_cpu_user_seconds_total',
      'steward_nodejs_heap_size_used_bytes',
    ]) {
      expect(text, name).toContain(`# TYPE ${name} `);
    }
    expect(value(text, 'steward_nodes{status="online"}')).toBe(1);
    expect(value(text, 'steward_agents_connected')).toBe(1);
  });

  it('counters move after a command and heartbeats', async () => {
    const before = await (await get('/metrics')).text();
    const { command } = await server.client.submitCommand({ node: 'obs-1', type: 'exec.run', payload: { command: 'true' } });
    expect((await server.client.getCommand(command.id, { wait: 15 })).state).toBe('succeeded');
    const after = await waitFor(
      'a heartbeat counted after the command',
      async () => {
        const t = await (await get('/metrics')).text();
        return value(t, 'steward_heartbeats_received_total') > value(before, 'steward_heartbeats_received_total') && t;
      },
      { timeoutMs: 10_000 },
    );
    const rt = 'steward_command_round_trip_seconds_count{type="exec.run",state="succeeded"}';
    expect(value(after, rt) - value(before, rt)).toBe(1);
    expect(value(after, 'steward_command_round_trip_seconds_bucket{le="+Inf",type="exec.run",state="succeeded"}')).toBe(value(after, rt));
    expect(value(after, 'steward_commands{type="exec.run",state="succeeded"}') - value(before, 'steward_commands{type="exec.run",state="succeeded"}')).toBe(1);
    expect(value(after, 'steward_command_transitions_total{type="exec.run",state="succeeded"}')).toBeGreaterThanOrEqual(1);
    expect(value(after, 'steward_store_query_seconds_count{kind="insert",outcome="ok"}')).toBeGreaterThan(
      value(before, 'steward_store_query_seconds_count{kind="insert",outcome="ok"}'),
    );
  });

  it('task queue, running attempts and firing alerts are gauges read from the store', async () => {
    const scrape = async () => (await get('/metrics')).text();
    expect(value(await scrape(), 'steward_task_queue_depth')).toBe(0);
    // Paused, the scheduler places nothing: a submitted task stays queued.
    await server.client.setSchedulerPaused(true);
    const { task } = await server.client.submitTask({ kind: 'exec', payload: { command: 'sleep', args: ['2'] } });
    // The submit woke the scheduler, and the node has since reported free slots: a scheduler
    // that ignored the pause would have placed the task by now.
    await heartbeatsAfter(server, 'obs-1');
    let text = await scrape();
    expect(value(text, 'steward_task_queue_depth')).toBe(1);
    expect(value(text, 'steward_task_attempts_active{state="running"}') + value(text, 'steward_task_attempts_active{state="placed"}')).toBe(0);
    await server.client.setSchedulerPaused(false);
    text = await waitFor(
      'the task holds a slot',
      async () => {
        const t = await scrape();
        return value(t, 'steward_task_attempts_active{state="running"}') + value(t, 'steward_task_attempts_active{state="placed"}') === 1 && t;
      },
      { timeoutMs: 15_000 },
    );
    expect(value(text, 'steward_task_queue_depth')).toBe(0);
    expect((await server.client.getTask(task.id, { wait: 20 })).state).toBe('succeeded');
    expect(value(await scrape(), 'steward_task_attempts_active{state="running"}')).toBe(0);

    expect(value(await scrape(), 'steward_alerts_firing{severity="warning"}') + value(await scrape(), 'steward_alerts_firing{severity="critical"}')).toBe(0);
    const { command } = await server.client.submitCommand({ node: 'obs-1', type: 'exec.run', payload: { command: 'false' } });
    expect((await server.client.getCommand(command.id, { wait: 15 })).state).toBe('failed');
    const firing = await waitFor(
      'a failed-command alert counted',
      async () => {
        const t = await scrape();
        const n = ['info', 'warning', 'critical'].reduce((a, s) => a + value(t, `steward_alerts_firing{severity="${s}"}`), 0);
        return n > 0 && n;
      },
      { timeoutMs: 10_000 },
    );
    expect(firing).toBe(1);
    expect(value(await scrape(), 'steward_service_instances{state="running"}')).toBe(0);
  }, 60_000);

  it('lists nodes as CSV and text, by ?format= and by Accept', async () => {
    const csv = await get('/api/v1/nodes?format=csv');
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const lines = (await csv.text()).split('\r\n');
    expect(lines[0]).toBe('id,name,status,protocol,labels,cpu_percent,memory_percent,disk_percent,agent_version,hostname,last_seen');
    // Two labels are joined by a comma, so that field is quoted.
    expect(lines[1]).toMatch(new RegExp(`^${nodeId},obs-1,online,steward,"env=lab,role=web",`));
    expect(lines[2]).toBe('');

    const byAccept = await get('/api/v1/nodes', server.token, { accept: 'text/csv' });
    expect(byAccept.headers.get('content-type')).toBe('text/csv; charset=utf-8');

    const text = await (await get('/api/v1/nodes', server.token, { accept: 'text/plain' })).text();
    expect(text.split('\n')[0]).toMatch(/^ID\s+NAME\s+STATUS\s+PROTOCOL\s+LABELS\s+CPU_PERCENT/);
    expect(text).toMatch(/obs-1\s+online\s+steward\s+env=lab,role=web/);

    const json = await get('/api/v1/nodes?format=json', server.token, { accept: 'text/csv' });
    expect(((await json.json()) as { items: unknown[] }).items).toHaveLength(1);

    const bad = await get('/api/v1/nodes?format=xml');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('validation_failed');
  });

  it('lists commands as CSV', async () => {
    const res = await get('/api/v1/commands?format=csv&node=obs-1');
    const [header, ...rows] = (await res.text()).trim().split('\r\n');
    expect(header).toBe('id,node_id,job_id,type,state,created,finished,error');
    expect(rows.some((r) => r.includes(',exec.run,succeeded,'))).toBe(true);
  });

  it('keeps heartbeat samples per node for the charts', async () => {
    const samples = await waitFor('two samples', async () => {
      const r = (await (await get(`/api/v1/nodes/obs-1/samples`)).json()) as { items: { at: number; cpuPercent: number; memoryTotalBytes: number }[]; retentionMs: number };
      return r.items.length >= 2 && r;
    });
    expect(samples.retentionMs).toBe(3_600_000);
    const [first, second] = samples.items;
    expect(second!.at).toBeGreaterThan(first!.at);
    expect(first!.memoryTotalBytes).toBeGreaterThan(0);
    const later = (await (await get(`/api/v1/nodes/${nodeId}/samples?since=${first!.at}`)).json()) as { items: { at: number }[] };
    expect(later.items.every((s) => s.at > first!.at)).toBe(true);
    const missing = await get('/api/v1/nodes/nope/samples');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });

  it('replays recent events to a fresh event stream that asks for them', async () => {
    const res = await get('/api/v1/events?recent=3', server.token, { accept: 'text/event-stream' });
    expect(res.status).toBe(200);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    await waitFor('three replayed events', async () => {
      const { value } = await reader.read();
      text += value ?? '';
      return (text.match(/^data: /gm) ?? []).length >= 3;
    }, { timeoutMs: 5000, intervalMs: 0 });
    expect((text.match(/^data: /gm) ?? []).length).toBe(3);
    await reader.cancel();
  });

  it('serves the OpenAPI document and readable docs at /docs', async () => {
    const doc = (await (await get('/api/v1/openapi.json', null)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/nodes/{id}/samples', '/api/v1/dashboard/nodes', '/api/v1/nodes']));
    const docs = await get('/docs', null);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('Swagger UI');
  });

  it('answers page paths with the dashboard but unknown API paths with a JSON 404', async () => {
    for (const path of ['/', '/nodes', '/nodes/obs-1', '/enroll']) {
      const res = await get(path, null);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toMatch(/^text\/html/);
      expect(await res.text()).toContain('<div id="root">');
    }
    for (const path of ['/api/v1/nope', '/api/v2/nodes', '/agent/v1/nope', '/metrics/extra', '/assets/missing.js', '/assets/..%2f..%2fpackage.json']) {
      const res = await get(path, null);
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code, path).toBe('route_not_found');
    }
    const post = await fetch(`${server.url}/nodes`, { method: 'POST' });
    expect(post.status).toBe(404);
    const asset = (await (await get('/', null)).text()).match(/src="(\/assets\/[^"]+\.js)"/)![1]!;
    const js = await get(asset, null);
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toContain('immutable');
    const pageRes = await get('/nodes', null);
    expect(pageRes.headers.get('cache-control')).toBe('no-cache');
    expect(pageRes.headers.get('content-security-policy')).toContain("script-src 'self'");
  });
});
