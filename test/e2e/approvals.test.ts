import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, StewardClient } from '@steward/client';
import type { Command } from '@steward/protocol';
import { addAgent, heartbeatsAfter, startServerProcess, STEWARD_BIN, tempDir, type AgentProc, type ServerProc } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

const run = promisify(execFile);

/** A command whose effect is one line appended to `file`: it ran exactly as many times as there are lines. */
const appendTo = (file: string) => ({ command: 'sh', args: ['-c', `echo ran >> '${file}'`] });
const runs = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0);

describe('approvals for dangerous commands, and the audit log', { timeout: 90_000 }, () => {
  let server: ServerProc;
  let prod: AgentProc;
  let dev: AgentProc;
  let alice: StewardClient; // operator who submits
  let bob: StewardClient; // second operator who approves
  let aliceToken: string;
  let bobToken: string;
  const dir = tempDir('steward-approvals-');

  beforeAll(async () => {
    server = await startServerProcess();
    [prod, dev] = await Promise.all([addAgent(server, 'prod1'), addAgent(server, 'dev1')]);
    await server.client.patchNode('prod1', { labels: { env: 'prod' } });
    const a = await server.client.createToken({ name: 'alice', role: 'operator' });
    const b = await server.client.createToken({ name: 'bob', role: 'operator' });
    aliceToken = a.token;
    bobToken = b.token;
    alice = new StewardClient({ baseUrl: server.url, token: a.token });
    bob = new StewardClient({ baseUrl: server.url, token: b.token });
    await server.client.putApprovalPolicy('prod-exec', { commandTypes: ['exec.*'], selector: 'env=prod', approvals: 1, ttlSeconds: 600 });
  }, 90_000);

  afterAll(async () => {
    await Promise.all([prod?.kill(), dev?.kill()]);
    await server?.kill();
  });

  it('only an admin changes policies', async () => {
    await expect(alice.putApprovalPolicy('x', { commandTypes: ['exec.*'] })).rejects.toMatchObject({ status: 403, code: 'forbidden' });
    expect((await alice.listApprovalPolicies()).items.map((p) => [p.name, p.commandTypes, p.selector])).toEqual([['prod-exec', ['exec.*'], 'env=prod']]);
  });

  let held: Command;
  const heldFile = join(dir, 'held');

  it('holds an exec.run to an env=prod node in awaiting_approval while one to another node runs', async () => {
    const submitted = await alice.submitCommand({ node: 'prod1', type: 'exec.run', payload: appendTo(heldFile) });
    held = submitted.command;
    expect(held.state).toBe('awaiting_approval');
    const free = (await alice.submitCommand({ node: 'dev1', type: 'exec.run', payload: appendTo(join(dir, 'free')) })).command;
    expect(free.state).toBe('pending');
    // Positive markers: the unmatched command ran and ended, and prod1 has heartbeated twice since (it is there, and idle).
    expect((await alice.getCommand(free.id, { wait: 20 })).state).toBe('succeeded');
    await heartbeatsAfter(server, 'prod1');
    const still = await alice.getCommand(held.id);
    expect(still).toMatchObject({ state: 'awaiting_approval', deliveries: 0, dispatchedAt: null });
    expect(runs(heldFile)).toBe(0);
    const pending = (await bob.listApprovals({ state: 'awaiting' })).items;
    expect(pending).toEqual([expect.objectContaining({ id: held.id, kind: 'command', policy: 'prod-exec', requestedBy: 'alice', needed: 1, approvedBy: [] })]);
    expect((await alice.listCommands({ state: 'awaiting_approval' })).items.map((c) => c.id)).toEqual([held.id]);
  });

  it('refuses the requester approving their own command, and a reader', async () => {
    const self = await alice.approveCommand(held.id).catch((e: unknown) => e);
    expect(self).toBeInstanceOf(ApiError);
    expect(self).toMatchObject({ status: 403, code: 'self_approval_forbidden' });
    const reader = await server.client.createToken({ name: 'rita', role: 'reader' });
    await expect(new StewardClient({ baseUrl: server.url, token: reader.token }).approveCommand(held.id)).rejects.toMatchObject({ status: 403 });
    expect((await alice.getCommand(held.id)).state).toBe('awaiting_approval');
  });

  it('runs it once when a second operator approves (steward approve)', async () => {
    const env = { ...process.env, STEWARD_SERVER: server.url, STEWARD_TOKEN: bobToken };
    const ls = await run(process.execPath, [STEWARD_BIN, 'approvals', 'ls'], { env });
    expect(ls.stdout).toContain(held.id);
    await run(process.execPath, [STEWARD_BIN, 'approve', held.id], { env });
    expect((await alice.getCommand(held.id, { wait: 20 })).state).toBe('succeeded');
    expect(runs(heldFile)).toBe(1);
    await expect(bob.approveCommand(held.id)).rejects.toMatchObject({ status: 409, code: 'invalid_state' });
    expect((await bob.listApprovals({})).items.find((r) => r.id === held.id)).toMatchObject({ state: 'approved', approvedBy: ['bob'] });
    await heartbeatsAfter(server, 'prod1');
    expect(runs(heldFile)).toBe(1);
  });

  it('approves a job as a whole: the unmatched node runs at once, the prod node after approval', async () => {
    const file = join(dir, 'job');
    const job = await alice.createJob({ target: { nodes: ['prod1', 'dev1'] }, type: 'exec.run', payload: appendTo(file) });
    expect(job.counts).toEqual({ awaiting_approval: 1, pending: 1 });
    await waitFor('the dev1 part to end', async () => (await alice.getJob(job.id)).counts.succeeded === 1);
    expect((await alice.getJob(job.id)).state).toBe('running');
    await expect(alice.approveJob(job.id)).rejects.toMatchObject({ code: 'self_approval_forbidden' });
    await bob.approveJob(job.id);
    expect((await alice.getJob(job.id, { wait: 20 })).state).toBe('succeeded');
    expect(runs(file)).toBe(2);
  });

  it('a rejected command is cancelled with the reason and never runs', async () => {
    const file = join(dir, 'rejected');
    const { command } = await alice.submitCommand({ node: 'prod1', type: 'exec.run', payload: appendTo(file) });
    const rejected = await bob.rejectCommand(command.id, 'not during the freeze');
    expect(rejected).toMatchObject({ state: 'cancelled', error: { code: 'approval_rejected', message: 'rejected by bob: not during the freeze' } });
    await heartbeatsAfter(server, 'prod1');
    expect(runs(file)).toBe(0);
  });

  it('a held command cancelled by its submitter leaves nothing to approve', async () => {
    const { command } = await alice.submitCommand({ node: 'prod1', type: 'exec.run', payload: appendTo(join(dir, 'cancelled')) });
    expect((await alice.cancelCommand(command.id)).state).toBe('cancelled');
    expect((await bob.listApprovals({})).items.find((r) => r.id === command.id)).toMatchObject({ state: 'rejected', reason: 'cancelled by an operator' });
    await expect(bob.approveCommand(command.id)).rejects.toMatchObject({ status: 409, code: 'invalid_state' });
  });

  it('expires what nobody approves within the policy TTL', async () => {
    await server.client.putApprovalPolicy('prod-exec', { commandTypes: ['exec.*'], selector: 'env=prod', ttlSeconds: 1 });
    const file = join(dir, 'expired');
    const { command } = await alice.submitCommand({ node: 'prod1', type: 'exec.run', payload: appendTo(file) });
    expect(command.state).toBe('awaiting_approval');
    const ended = await alice.getCommand(command.id, { wait: 20 });
    expect(ended).toMatchObject({ state: 'expired', error: { code: 'approval_expired' }, deliveries: 0 });
    expect((await bob.listApprovals({})).items.find((r) => r.id === command.id)?.state).toBe('expired');
    const logged = await waitFor('the expiry in the audit log', async () => (await bob.listAudit({ action: 'commands.approval_expired', target: command.id })).items[0]);
    expect(logged).toMatchObject({ actorId: null, actorName: 'control plane', status: 0, summary: { policy: 'prod-exec', requestedBy: 'alice' } });
    await expect(bob.approveCommand(command.id)).rejects.toMatchObject({ status: 409 });
    await heartbeatsAfter(server, 'prod1');
    expect(runs(file)).toBe(0);
  });

  it('steward run says it awaits a second operator instead of waiting silently', async () => {
    await server.client.putApprovalPolicy('prod-exec', { commandTypes: ['exec.*'], selector: 'env=prod', ttlSeconds: 600 });
    const env = { ...process.env, STEWARD_SERVER: server.url, STEWARD_TOKEN: aliceToken };
    const out = await run(process.execPath, [STEWARD_BIN, 'run', '--node', 'prod1', '--timeout', '1s', '--', 'true'], { env }).catch((e: { stdout: string; stderr: string }) => e);
    expect(out.stderr).toMatch(/job job_\w+: 1 node awaiting approval by a second operator \(they run: steward approve job_\w+\)/);
    expect(out.stdout).toContain('still awaiting approval by a second operator');
  });

  it('the audit log has who submitted and who approved, refusals too, and verifies; an edit is detected', async () => {
    await expect(new StewardClient({ baseUrl: server.url, token: 'st_nope.nope' }).listNodes()).rejects.toMatchObject({ status: 401 });
    const submitted = (await bob.listAudit({ actor: 'alice', action: 'commands.create' })).items;
    expect(submitted.find((e) => e.target === held.id)).toMatchObject({ actorName: 'alice', role: 'operator', status: 201, summary: { type: 'exec.run', node: 'prod1' }, sourceIp: '127.0.0.1' });
    // The payload (here a shell line, elsewhere a secret) is never in the log.
    expect(JSON.stringify(submitted)).not.toContain('echo ran');
    const approvals = (await bob.listAudit({ action: 'commands.approve', target: held.id })).items;
    expect(approvals.map((e) => [e.actorName, e.status, e.errorCode]).sort()).toEqual(
      [
        ['alice', 403, 'self_approval_forbidden'],
        ['bob', 200, null],
        ['bob', 409, 'invalid_state'],
        ['rita', 403, 'forbidden'],
      ].sort(),
    );
    expect((await bob.listAudit({ action: 'jobs.approve' })).items.map((e) => e.actorName)).toContain('bob');
    expect((await bob.listAudit({ action: 'commands.reject' })).items[0]).toMatchObject({ actorName: 'bob', summary: { reason: 'not during the freeze' } });
    expect((await bob.listAudit({ action: 'approval_policies.put' })).items.length).toBeGreaterThanOrEqual(2);
    const refused = await waitFor('the 401 in the log', async () => (await bob.listAudit({ action: 'auth.failed' })).items[0]);
    expect(refused).toMatchObject({ actorId: null, status: 401, errorCode: 'unauthorized', summary: { route: 'GET /api/v1/nodes' } });
    await expect(new StewardClient({ baseUrl: server.url, token: (await server.client.createToken({ name: 'r2', role: 'reader' })).token }).listAudit()).rejects.toMatchObject({ status: 403 });

    const env = { ...process.env, STEWARD_SERVER: server.url, STEWARD_TOKEN: bobToken };
    const ok = await run(process.execPath, [STEWARD_BIN, 'audit', 'verify'], { env });
    expect(ok.stdout).toMatch(/^ok: \d+ entries, chain intact/);

    // Tamper as someone with the database file would: the chain breaks at that row.
    const db = new Database(join(server.dataDir, 'steward.db'));
    try {
      db.prepare('update audit_log set actor_name = ? where id = ?').run('mallory', approvals[0]!.id);
    } finally {
      db.close();
    }
    const report = await bob.verifyAudit();
    expect(report).toMatchObject({ ok: false, broken: { id: approvals[0]!.id, reason: 'hash' } });
    const broken = await run(process.execPath, [STEWARD_BIN, 'audit', 'verify'], { env }).catch((e: { code: number; stderr: string }) => e);
    expect(broken).toMatchObject({ code: 1 });
    expect((broken as { stderr: string }).stderr).toContain(`BROKEN at entry ${approvals[0]!.id} (hash)`);
  });
});
