import { sql, type Kysely } from 'kysely';
import { approvalPredecessors, type ApprovalState } from '@steward/protocol';
import type { ApprovalPoliciesTable, ApprovalRequestsTable, ApprovalVotesTable, CommandsTable, Database } from '../schema.js';

export async function upsertApprovalPolicy(db: Kysely<Database>, row: ApprovalPoliciesTable): Promise<ApprovalPoliciesTable> {
  return db
    .insertInto('approval_policies')
    .values(row)
    .onConflict((oc) =>
      oc.column('name').doUpdateSet({
        command_types: row.command_types,
        selector: row.selector,
        approvals: row.approvals,
        ttl_seconds: row.ttl_seconds,
        updated_at: row.updated_at,
      }),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function listApprovalPolicies(db: Kysely<Database>): Promise<ApprovalPoliciesTable[]> {
  return db.selectFrom('approval_policies').selectAll().orderBy('name').execute();
}

export async function deleteApprovalPolicy(db: Kysely<Database>, name: string): Promise<boolean> {
  const r = await db.deleteFrom('approval_policies').where('name', '=', name).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export async function insertApprovalRequest(db: Kysely<Database>, row: ApprovalRequestsTable): Promise<void> {
  await db.insertInto('approval_requests').values(row).execute();
}

export async function getApprovalRequest(db: Kysely<Database>, id: string): Promise<ApprovalRequestsTable | undefined> {
  return db.selectFrom('approval_requests').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listApprovalRequests(db: Kysely<Database>, f: { state?: ApprovalState; limit?: number }): Promise<ApprovalRequestsTable[]> {
  let q = db.selectFrom('approval_requests').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc');
  if (f.state) q = q.where('state', '=', f.state);
  return q.limit(f.limit ?? 500).execute();
}

/** One vote per token: a repeat by the same token changes nothing. */
export async function insertApprovalVote(db: Kysely<Database>, vote: ApprovalVotesTable): Promise<void> {
  await db.insertInto('approval_votes').values(vote).onConflict((oc) => oc.doNothing()).execute();
}

export async function listApprovalVotes(db: Kysely<Database>, requestIds: string[]): Promise<ApprovalVotesTable[]> {
  if (requestIds.length === 0) return [];
  return db.selectFrom('approval_votes').selectAll().where('request_id', 'in', requestIds).orderBy('at').execute();
}

/** The one way a request is decided: a conditional update from the states that lead to `to`. */
export async function transitionApprovalRequest(
  db: Kysely<Database>,
  id: string,
  to: ApprovalState,
  now: number,
  reason: string | null = null,
): Promise<ApprovalRequestsTable | undefined> {
  return db
    .updateTable('approval_requests')
    .set({ state: to, decided_at: now, reason })
    .where('id', '=', id)
    .where('state', 'in', approvalPredecessors(to))
    .returningAll()
    .executeTakeFirst();
}

/** Awaiting requests past their TTL become expired; returns them. */
export async function expireApprovalRequests(db: Kysely<Database>, now: number): Promise<ApprovalRequestsTable[]> {
  return db
    .updateTable('approval_requests')
    .set({ state: 'expired', decided_at: now, reason: 'nobody approved it in time' })
    .where('state', 'in', approvalPredecessors('expired'))
    .where('expires_at', '<=', now)
    .returningAll()
    .execute();
}

/** Which column of a command names its request: a job's commands are decided with their job. */
const subject = (kind: string) => (kind === 'job' ? 'job_id' : 'id');

/**
 * Approved: the request's awaiting commands become pending; their TTL starts now (a command
 * held for its job's batch keeps no expiry until released, as at submission).
 */
export async function releaseApprovedCommands(db: Kysely<Database>, req: Pick<ApprovalRequestsTable, 'id' | 'kind'>, now: number): Promise<CommandsTable[]> {
  return db
    .updateTable('commands')
    .set((eb) => ({
      state: 'pending',
      expires_at: eb.case().when('held', '=', 1).then(sql<number | null>`null`).else(eb('ttl_ms', '+', now)).end(),
    }))
    .where(subject(req.kind), '=', req.id)
    .where('state', '=', 'awaiting_approval')
    .returningAll()
    .execute();
}

/** Rejected (cancelled) or expired: the request's awaiting commands end without running. */
export async function endAwaitingCommands(
  db: Kysely<Database>,
  req: Pick<ApprovalRequestsTable, 'id' | 'kind'>,
  to: 'cancelled' | 'expired',
  now: number,
  error: { code: string; message: string },
): Promise<CommandsTable[]> {
  return db
    .updateTable('commands')
    .set({ state: to, held: 0, secret_payload: null, finished_at: now, error: JSON.stringify(error) })
    .where(subject(req.kind), '=', req.id)
    .where('state', '=', 'awaiting_approval')
    .returningAll()
    .execute();
}
