import type { Kysely } from 'kysely';
import { deliveryPredecessors, type DeliveryState } from '@steward/protocol';
import type { Database, WebhookAttemptsTable, WebhookDeliveriesTable, WebhooksTable } from '../schema.js';

export async function insertWebhook(db: Kysely<Database>, row: WebhooksTable): Promise<void> {
  await db.insertInto('webhooks').values(row).execute();
}

export async function listWebhooks(db: Kysely<Database>): Promise<WebhooksTable[]> {
  return db.selectFrom('webhooks').selectAll().orderBy('created_at').orderBy('id').execute();
}

export async function getWebhook(db: Kysely<Database>, id: string): Promise<WebhooksTable | undefined> {
  return db.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Removes a webhook with its deliveries and their log (run inside a transaction). */
export async function deleteWebhook(db: Kysely<Database>, id: string): Promise<boolean> {
  const deliveries = db.selectFrom('webhook_deliveries').select('id').where('webhook_id', '=', id);
  await db.deleteFrom('webhook_attempts').where('delivery_id', 'in', deliveries).execute();
  await db.deleteFrom('webhook_deliveries').where('webhook_id', '=', id).execute();
  const res = await db.deleteFrom('webhooks').where('id', '=', id).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

/** Queues deliveries; one whose (webhook, dedupe key) was queued before is skipped. Returns how many were new. */
export async function insertDeliveries(db: Kysely<Database>, rows: WebhookDeliveriesTable[]): Promise<number> {
  if (rows.length === 0) return 0;
  const res = await db
    .insertInto('webhook_deliveries')
    .values(rows)
    .onConflict((oc) => oc.columns(['webhook_id', 'dedupe_key']).doNothing())
    .executeTakeFirst();
  return Number(res.numInsertedOrUpdatedRows ?? 0);
}

export interface ClaimOptions {
  now: number;
  owner: string;
  leaseMs: number;
  limit: number;
  /** PostgreSQL: `FOR UPDATE SKIP LOCKED`, so replicas claiming at once take different rows without waiting. */
  skipLocked: boolean;
}

/**
 * Takes up to `limit` due deliveries for one replica: pending ones whose time has come, and
 * delivering ones whose lease ran out (their replica died mid-attempt). Run inside a
 * transaction; the conditional update makes a row go to exactly one claimer.
 */
export async function claimDeliveries(db: Kysely<Database>, o: ClaimOptions): Promise<WebhookDeliveriesTable[]> {
  const due = (q: ReturnType<typeof base>) =>
    q.where((eb) =>
      eb.or([
        eb.and([eb('state', '=', 'pending'), eb('next_attempt_at', '<=', o.now)]),
        eb.and([eb('state', '=', 'delivering'), eb('lease_until', '<=', o.now)]),
      ]),
    );
  const base = () => db.selectFrom('webhook_deliveries');
  let pick = due(base()).select('id').orderBy('next_attempt_at').orderBy('id').limit(o.limit);
  if (o.skipLocked) pick = pick.forUpdate().skipLocked();
  const ids = (await pick.execute()).map((r) => r.id);
  if (ids.length === 0) return [];
  const to: DeliveryState = 'delivering';
  return db
    .updateTable('webhook_deliveries')
    .set({ state: to, lease_owner: o.owner, lease_until: o.now + o.leaseMs })
    .where('id', 'in', ids)
    .where((eb) =>
      eb.or([
        eb.and([eb('state', '=', 'pending'), eb('next_attempt_at', '<=', o.now)]),
        eb.and([eb('state', '=', 'delivering'), eb('lease_until', '<=', o.now)]),
      ]),
    )
    .where('state', 'in', deliveryPredecessors(to))
    .returningAll()
    .execute();
}

export interface AttemptOutcome {
  attempt: WebhookAttemptsTable;
  /** succeeded / failed end it; pending means another attempt at `nextAttemptAt`. */
  state: Extract<DeliveryState, 'pending' | 'succeeded' | 'failed'>;
  nextAttemptAt: number | null;
}

/**
 * Records one attempt and moves the delivery on, if `owner` still holds its lease. Returns
 * false when the lease was lost (another replica took the delivery over); nothing is written.
 * One transaction: a store lost between the two writes must not leave a delivery moved on with
 * no record of the attempt that moved it.
 */
export async function recordAttempt(db: Kysely<Database>, deliveryId: string, owner: string, o: AttemptOutcome): Promise<boolean> {
  const finished = o.state !== 'pending';
  return db.transaction().execute(async (trx) => {
    const res = await trx
      .updateTable('webhook_deliveries')
      .set({
        state: o.state,
        attempts: o.attempt.n,
        next_attempt_at: finished ? null : o.nextAttemptAt,
        lease_owner: null,
        lease_until: null,
        finished_at: finished ? o.attempt.at + o.attempt.duration_ms : null,
      })
      .where('id', '=', deliveryId)
      .where('state', 'in', deliveryPredecessors(o.state))
      .where('lease_owner', '=', owner)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) return false;
    await trx.insertInto('webhook_attempts').values(o.attempt).execute();
    return true;
  });
}

export async function getDelivery(db: Kysely<Database>, id: string): Promise<WebhookDeliveriesTable | undefined> {
  return db.selectFrom('webhook_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listDeliveries(
  db: Kysely<Database>,
  webhookId: string,
  f: { state?: DeliveryState; limit?: number },
): Promise<WebhookDeliveriesTable[]> {
  let q = db.selectFrom('webhook_deliveries').selectAll().where('webhook_id', '=', webhookId).orderBy('created_at', 'desc').orderBy('id', 'desc');
  if (f.state) q = q.where('state', '=', f.state);
  return q.limit(f.limit ?? 500).execute();
}

export async function listAttempts(db: Kysely<Database>, deliveryIds: string[]): Promise<WebhookAttemptsTable[]> {
  if (deliveryIds.length === 0) return [];
  return db.selectFrom('webhook_attempts').selectAll().where('delivery_id', 'in', deliveryIds).orderBy('delivery_id').orderBy('n').execute();
}
