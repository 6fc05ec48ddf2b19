import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Command } from '@steward/protocol';
import { startPgCluster, type OwnedPgCluster } from '../support/pg-cluster.js';
import { heartbeatsAfter, startAgentProcess, waitOnline, type AgentProc, type ServerProc } from '../support/processes.js';
import { restartReplica, startReplicas, type ReplicaShared } from '../support/replica-set.js';
import { startSimAgents, type SimAgents } from '../support/sim-fleet.js';
import { waitFor } from '../support/wait.js';

const SIMS = 60;
const lines = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : []);
const effectFile = (agent: AgentProc) => join(agent.dataDir, 'effects.txt');
/** An exec.run that appends its mark to the node's effect file after `delay` seconds: one line per run. */
const effect = (agent: AgentProc, mark: string, delay = 0) => ({
  type: 'exec.run',
  payload: { command: 'sh', args: ['-c', `sleep ${delay}; echo ${mark} >> ${effectFile(agent)}`] },
});
const FINAL = ['succeeded', 'failed', 'cancelled', 'timed_out', 'expired'];

/**
 * Issue 16 item 3: two control planes on one PostgreSQL (a cluster this file owns, so it can
 * restart it), real agents and simulated ones spread over them by the order of their server
 * lists. kill -9 of the lease holder: its agents move to the survivor, commands it accepted run
 * exactly once, the scheduler lease moves. Then PostgreSQL restarts under traffic.
 */
describe('replica failover', { timeout: 60_000 }, () => {
  let pg: OwnedPgCluster;
  let shared: ReplicaShared;
  let servers: ServerProc[];
  const agents: AgentProc[] = [];
  let sims: SimAgents;
  /** Replica index → agents (real) whose list names it first. */
  const firstOn = (i: number) => agents.filter((_, k) => k % 2 === i);

  beforeAll(async () => {
    const t0 = Date.now();
    const step = (what: string) => console.log(`replica-failover setup: ${what} at ${Date.now() - t0} ms`);
    pg = await startPgCluster();
    step('pg');
    ({ servers, shared } = await startReplicas(pg.url, 2, { STEWARD_TASK_TICK_MS: '100', STEWARD_TASK_LEASE_MS: '2000' }));
    step('replicas');
    const [a, b] = servers as [ServerProc, ServerProc];
    const { token } = await a.client.createEnrollmentToken({ uses: 3 });
    for (let k = 0; k < 3; k++) {
      const list = k % 2 === 0 ? [a.url, b.url] : [b.url, a.url];
      agents.push(startAgentProcess({ token, name: `real-${k}`, config: `servers: [${list.join(', ')}]\n` }));
    }
    sims = await startSimAgents(a, { count: SIMS, prefix: 'sim', serversOf: (i) => (i % 2 === 0 ? [a.url, b.url] : [b.url, a.url]) });
    step('sims');
    await Promise.all(agents.map((x, k) => waitOnline(a, `real-${k}`, x)));
    step('real agents');
  }, 180_000);

  afterAll(async () => {
    await sims?.stop();
    await Promise.all(agents.map((x) => x.kill()));
    await Promise.all((servers ?? []).map((s) => s.kill('SIGKILL')));
    await pg?.destroy();
  });

  it('kill -9 of the lease holder: its agents are on the survivor, its commands run exactly once, the lease moves', async () => {
    const [a, b] = servers as [ServerProc, ServerProc];
    const sched = await a.client.schedulerState();
    const dead = sched.leader === sched.replica ? a : b;
    const survivor = dead === a ? b : a;
    const deadIndex = servers.indexOf(dead);
    const deadReal = firstOn(deadIndex);
    const deadSims = sims.names.filter((_, i) => sims.servers[i]![0] === dead.url);

    // One real agent is stopped: what the dead replica accepts for it is not dispatched before the kill.
    const sleeper = deadReal[0]!;
    const sleeperName = `real-${agents.indexOf(sleeper)}`;
    await sleeper.kill();
    await waitFor('the stopped agent disconnected', async () => !(await dead.client.getNode(sleeperName)).connected);

    // Accepted by the replica about to die: running on its agents at the kill (results come back
    // through the survivor), pending for the stopped one, and a ping to every simulated agent on it.
    const accepted: Command[] = [];
    for (const [k, agent] of agents.entries()) {
      if (agent === sleeper) continue;
      accepted.push((await dead.client.submitCommand({ node: `real-${k}`, ...effect(agent, `slow-${k}`, 6) })).command);
    }
    const pending = (await dead.client.submitCommand({ node: sleeperName, ...effect(sleeper, 'pending') })).command;
    accepted.push(pending);
    const job = await dead.client.createJob({ target: { nodes: deadSims }, type: 'sys.ping', payload: {} });
    await waitFor('the slow commands running', async () => {
      const states = await Promise.all(accepted.filter((c) => c.id !== pending.id).map((c) => dead.client.getCommand(c.id)));
      return states.every((c) => c.state === 'running');
    }, { timeoutMs: 20_000, intervalMs: 100 });

    await dead.kill('SIGKILL');
    const killedAt = Date.now();
    const restarted = startAgentProcess({ name: sleeperName, dataDir: sleeper.dataDir, config: `servers: [${dead.url}, ${survivor.url}]\n` });
    agents[agents.indexOf(sleeper)] = restarted;

    // Every agent of the dead replica reconnects to the survivor: a heartbeat after the kill.
    const movedNames = [...deadReal.map((x) => `real-${agents.indexOf(x === sleeper ? restarted : x)}`), ...deadSims];
    const movedAt = await waitFor('every agent of the dead replica on the survivor', async () => {
      const { items } = await survivor.client.listNodes({ limit: 1000 });
      const byName = new Map(items.map((n) => [n.name, n]));
      return movedNames.every((n) => { const x = byName.get(n); return x?.connected && (x.lastSeenAt ?? 0) > killedAt; }) && Date.now();
    }, { timeoutMs: 30_000, intervalMs: 200 });
    console.log(`replica-failover: ${movedNames.length} agents on the survivor ${movedAt - killedAt} ms after the kill`);
    // The simulated agents' backoff is 500 ms → 5 s, the real ones' here 100 → 500 ms: a few rounds on a loaded machine.
    expect(movedAt - killedAt).toBeLessThan(20_000);

    // Every command the dead replica accepted ends once, with one effect.
    const final = await waitFor('every accepted command final', async () => {
      const all = await Promise.all(accepted.map((c) => survivor.client.getCommand(c.id)));
      return all.every((c) => FINAL.includes(c.state)) && all;
    }, { timeoutMs: 30_000, intervalMs: 200 });
    expect(final.map((c) => [c.id, c.state])).toEqual(accepted.map((c) => [c.id, 'succeeded']));
    const jobDone = await survivor.client.getJob(job.id, { wait: 20 });
    expect(jobDone.state).toBe('succeeded');
    for (const k of agents.keys()) await heartbeatsAfter(survivor, `real-${k}`, Date.now());
    for (const [k, agent] of agents.entries()) {
      const want = agent === restarted ? ['pending'] : [`slow-${k}`];
      expect(lines(effectFile(agent)), `real-${k}`).toEqual(want);
    }
    const runs = [...sims.fleet.effects!.values()];
    expect(runs.filter((n) => n > 1)).toEqual([]);
    expect(sims.fleet.effects!.size).toBe(deadSims.length);

    // The lease moved: the survivor places tasks.
    const task = (await survivor.client.submitTask({ kind: 'exec', payload: { command: 'true' } })).task;
    await waitFor('the task done', async () => (await survivor.client.getTask(task.id)).state === 'succeeded', { timeoutMs: 20_000, intervalMs: 200 });
    const after = await survivor.client.schedulerState();
    expect(after.leader).toBe(after.replica);

    servers[deadIndex] = await restartReplica(dead, shared);
  });

  it('PostgreSQL restarted under traffic: 503 while it is down, /healthz degraded then ok, nothing accepted is lost', async () => {
    const [a, b] = servers as [ServerProc, ServerProc];
    const health = async (s: ServerProc) => ((await (await fetch(`${s.url}/healthz`)).json()) as { status: string }).status;
    // Accepted before the outage, finishing while the database is down: their results can only be stored after it.
    const accepted: Command[] = [];
    for (const [k, agent] of agents.entries()) {
      const via = k % 2 ? b : a;
      accepted.push((await via.client.submitCommand({ node: `real-${k}`, ...effect(agent, `pg-${k}`, 2) })).command);
    }
    await waitFor('the commands running', async () => {
      const all = await Promise.all(accepted.map((c) => a.client.getCommand(c.id)));
      return all.every((c) => c.state === 'running');
    }, { timeoutMs: 20_000, intervalMs: 100 });
    await pg.stop();

    await waitFor('both replicas degraded', async () => (await health(a)) === 'degraded' && (await health(b)) === 'degraded', { timeoutMs: 10_000, intervalMs: 100 }).catch((e: Error) => {
      throw new Error(`${e.message}\n--- replica a (exit ${a.child.exitCode}):\n${a.output().slice(-3000)}\n--- replica b (exit ${b.child.exitCode}):\n${b.output().slice(-3000)}`);
    });
    const refused = await fetch(`${a.url}/api/v1/commands`, {
      method: 'POST',
      headers: { authorization: `Bearer ${a.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ node: 'real-0', ...effect(agents[0]!, 'during-outage') }),
    });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('2');
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('store_unavailable');
    // The commands ended on the nodes meanwhile (the effect is the marker).
    await waitFor('the effects written during the outage', () => agents.every((x, k) => lines(effectFile(x)).includes(`pg-${k}`)), { timeoutMs: 20_000, intervalMs: 100 });

    await pg.start();
    await waitFor('both replicas ok again', async () => (await health(a)) === 'ok' && (await health(b)) === 'ok', { timeoutMs: 20_000, intervalMs: 100 });
    const final = await waitFor('the accepted commands final', async () => {
      const all = await Promise.all(accepted.map((c) => b.client.getCommand(c.id)));
      return all.every((c) => FINAL.includes(c.state)) && all;
    }, { timeoutMs: 30_000, intervalMs: 200 });
    expect(final.map((c) => c.state)).toEqual(accepted.map(() => 'succeeded'));
    // New work flows through both replicas, and nothing ran twice or during the refusal.
    for (const [k, agent] of agents.entries()) {
      const via = k % 2 ? a : b;
      const { command } = await via.client.submitCommand({ node: `real-${k}`, ...effect(agent, `after-${k}`) });
      expect((await via.client.getCommand(command.id, { wait: 20 })).state).toBe('succeeded');
    }
    for (const [k, agent] of agents.entries()) {
      const seen = lines(effectFile(agent));
      expect(seen.filter((l) => l === `pg-${k}`), `real-${k}`).toHaveLength(1);
      expect(seen).not.toContain('during-outage');
    }
    expect([a.child.exitCode, b.child.exitCode]).toEqual([null, null]);
  });
});
