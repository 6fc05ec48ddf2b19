import { describe, expect, it } from 'vitest';
import { COMMAND_TRANSITIONS } from '@steward/protocol';
import {
  deleteApprovalPolicy,
  endAwaitingCommands,
  expireApprovalRequests,
  getApprovalRequest,
  insertApprovalRequest,
  insertApprovalVote,
  listApprovalPolicies,
  listApprovalRequests,
  listApprovalVotes,
  releaseApprovedCommands,
  transitionApprovalRequest,
  upsertApprovalPolicy,
} from '../../src/store/queries/approvals.js';
import { deliverableForNode, expireDue, getCommandRow, insertCommands, markDelivered } from '../../src/store/queries/commands.js';
import { insertJob, jobCounts } from '../../src/store/queries/jobs.js';
import type { ApprovalRequestsTable } from '../../src/store/schema.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';
import { commandRow, jobCommandRows, jobRow, T0 } from '../helpers/rows.js';

function request(over: Partial<ApprovalRequestsTable> & { id: string }): ApprovalRequestsTable {
  return {
    kind: 'command',
    type: 'exec.run',
    policy: 'prod-exec',
    needed: 1,
    state: 'awaiting',
    requested_by: 'tok_a',
    requested_by_name: 'alice',
    created_at: T0,
    expires_at: T0 + 60_000,
    decided_at: null,
    reason: null,
    ...over,
  };
}

const policy = (name: string, over: { selector?: string | null; approvals?: number } = {}) => ({
  name,
  command_types: JSON.stringify(['exec.*']),
  selector: over.selector === undefined ? 'env=prod' : over.selector,
  approvals: over.approvals ?? 1,
  ttl_seconds: 60,
  created_at: T0,
  updated_at: T0,
});

describe('the command state machine', () => {
  it('lets awaiting_approval go to pending, cancelled or expired only, and nothing back to it', () => {
    expect(COMMAND_TRANSITIONS.awaiting_approval).toEqual(['pending', 'cancelled', 'expired']);
    for (const [from, to] of Object.entries(COMMAND_TRANSITIONS)) expect(to, from).not.toContain('awaiting_approval');
  });
});

describe.each(storeTargets())('approvals on $name', (target) => {
  const ctx = useFreshStore(target);

  it('puts (creates, then replaces), lists and deletes policies', async () => {
    const db = ctx.store.db;
    await upsertApprovalPolicy(db, policy('b'));
    await upsertApprovalPolicy(db, policy('a', { selector: null }));
    const replaced = await upsertApprovalPolicy(db, { ...policy('b', { approvals: 2 }), created_at: T0 + 5, updated_at: T0 + 5 });
    expect(replaced).toMatchObject({ name: 'b', approvals: 2, created_at: T0, updated_at: T0 + 5 });
    expect((await listApprovalPolicies(db)).map((p) => [p.name, p.selector])).toEqual([
      ['a', null],
      ['b', 'env=prod'],
    ]);
    expect(await deleteApprovalPolicy(db, 'a')).toBe(true);
    expect(await deleteApprovalPolicy(db, 'a')).toBe(false);
  });

  it('keeps an awaiting command from delivery and expiry by TTL; approval makes it pending with its TTL from now', async () => {
    const db = ctx.store.db;
    const cmd = commandRow({ node_id: 'node_1', state: 'awaiting_approval', expires_at: T0 + 60_000 });
    await insertCommands(db, [cmd]);
    await insertApprovalRequest(db, request({ id: cmd.id }));
    expect(await deliverableForNode(db, 'node_1')).toEqual([]);
    expect(await markDelivered(db, [cmd.id], T0)).toEqual([]);
    expect(await expireDue(db, T0 + 120_000)).toEqual([]);

    await insertApprovalVote(db, { request_id: cmd.id, token_id: 'tok_b', token_name: 'bob', at: T0 + 1 });
    await insertApprovalVote(db, { request_id: cmd.id, token_id: 'tok_b', token_name: 'bob', at: T0 + 2 });
    expect(await listApprovalVotes(db, [cmd.id])).toHaveLength(1);

    const approved = await transitionApprovalRequest(db, cmd.id, 'approved', T0 + 10);
    expect(approved).toMatchObject({ state: 'approved', decided_at: T0 + 10 });
    // Decided once: a second decision (a racing replica, a late reject) changes nothing.
    expect(await transitionApprovalRequest(db, cmd.id, 'rejected', T0 + 11)).toBeUndefined();
    const released = await releaseApprovedCommands(db, approved!, T0 + 10);
    expect(released.map((r) => [r.id, r.state, r.expires_at])).toEqual([[cmd.id, 'pending', T0 + 10 + cmd.ttl_ms]]);
    expect((await deliverableForNode(db, 'node_1')).map((r) => r.id)).toEqual([cmd.id]);
    expect(await releaseApprovedCommands(db, approved!, T0 + 20)).toEqual([]);
  });

  it('approves a job at once: its awaiting commands go pending, a held one stays held without expiry', async () => {
    const db = ctx.store.db;
    const job = jobRow({ total: 3, batch_size: 2 });
    const [a, b, c] = jobCommandRows(job.id, ['n1', 'n2', 'n3']);
    const rows = [
      { ...a!, state: 'awaiting_approval', expires_at: T0 + 60_000 },
      b!,
      { ...c!, state: 'awaiting_approval', held: 1, expires_at: T0 + 60_000 },
    ];
    await ctx.store.tx(async (tx) => {
      await insertJob(tx, job);
      await insertCommands(tx, rows);
    });
    await insertApprovalRequest(db, request({ id: job.id, kind: 'job' }));
    expect(await jobCounts(db, job.id)).toEqual({ awaiting_approval: 2, pending: 1 });
    const approved = await transitionApprovalRequest(db, job.id, 'approved', T0 + 5);
    const released = await releaseApprovedCommands(db, approved!, T0 + 5);
    expect(released.map((r) => [r.id, r.expires_at]).sort()).toEqual([[a!.id, T0 + 5 + a!.ttl_ms], [c!.id, null]].sort());
    expect(await jobCounts(db, job.id)).toEqual({ pending: 2, queued: 1 });
  });

  it('rejects: the awaiting commands end cancelled with the reason; untouched commands stay', async () => {
    const db = ctx.store.db;
    const cmd = commandRow({ node_id: 'node_1', state: 'awaiting_approval' });
    const other = commandRow({ node_id: 'node_1' });
    await insertCommands(db, [cmd, other]);
    await insertApprovalRequest(db, request({ id: cmd.id }));
    const rejected = await transitionApprovalRequest(db, cmd.id, 'rejected', T0 + 3, 'rejected by bob: not now');
    const ended = await endAwaitingCommands(db, rejected!, 'cancelled', T0 + 3, { code: 'approval_rejected', message: 'rejected by bob: not now' });
    expect(ended.map((r) => [r.id, r.state, r.finished_at])).toEqual([[cmd.id, 'cancelled', T0 + 3]]);
    expect(JSON.parse(ended[0]!.error!)).toEqual({ code: 'approval_rejected', message: 'rejected by bob: not now' });
    expect((await getCommandRow(db, other.id))!.state).toBe('pending');
    expect(await getApprovalRequest(db, cmd.id)).toMatchObject({ state: 'rejected', reason: 'rejected by bob: not now' });
  });

  it('expires awaiting requests past their TTL (and only those), and then their commands', async () => {
    const db = ctx.store.db;
    const due = commandRow({ node_id: 'n', state: 'awaiting_approval', expires_at: T0 + 1000 });
    const later = commandRow({ node_id: 'n', state: 'awaiting_approval', expires_at: T0 + 9000 });
    await insertCommands(db, [due, later]);
    await insertApprovalRequest(db, request({ id: due.id, expires_at: T0 + 1000 }));
    await insertApprovalRequest(db, request({ id: later.id, expires_at: T0 + 9000 }));
    const expired = await expireApprovalRequests(db, T0 + 1000);
    expect(expired.map((r) => r.id)).toEqual([due.id]);
    const ended = await endAwaitingCommands(db, expired[0]!, 'expired', T0 + 1000, { code: 'approval_expired', message: 'x' });
    expect(ended.map((r) => r.state)).toEqual(['expired']);
    expect(await expireApprovalRequests(db, T0 + 1000)).toEqual([]);
    expect((await listApprovalRequests(db, { state: 'awaiting' })).map((r) => r.id)).toEqual([later.id]);
  });
});
