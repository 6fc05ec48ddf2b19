import type { Kysely } from 'kysely';
import {
  newId,
  NotFoundError,
  ValidationError,
  WEBHOOK_EVENTS,
  type Alert,
  type DeliveryListQuery,
  type Webhook,
  type WebhookCreate,
  type WebhookCreated,
  type WebhookDelivery,
  type WebhookEvent,
  type WebhookPayload,
} from '@steward/protocol';
import { newSecret } from '@steward/protocol/node';
import type { Context } from '../../core/context.js';
import type { Database, WebhookDeliveriesTable } from '../../store/schema.js';
import { toJson } from '../../store/rows.js';
import type { DestinationPolicy } from '../../security/destinations.js';
import { deleteWebhook, getWebhook, insertDeliveries, insertWebhook, listAttempts, listDeliveries, listWebhooks } from '../../store/queries/webhooks.js';
import { deliveryFromRow, webhookFromRow } from '../rows.js';

/** Configured webhook receivers, and the notifications queued for them. */
export class WebhookService {
  constructor(
    private readonly ctx: Context,
    private readonly destinations: DestinationPolicy,
  ) {}

  async create(body: WebhookCreate): Promise<WebhookCreated> {
    let url: URL;
    try {
      url = new URL(body.url);
    } catch {
      throw new ValidationError(`url ${JSON.stringify(body.url)} is not a URL`, [{ field: 'url', rule: 'http(s) URL' }]);
    }
    if (url.username || url.password) {
      // Credentials in a URL end up in logs and listings; the signature is what authenticates.
      throw new ValidationError('url must not carry a user or password', [{ field: 'url', rule: 'no credentials' }]);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ValidationError(`url must be http(s), not ${url.protocol}`, [{ field: 'url', rule: 'http(s) URL' }]);
    }
    // Address literals are refused here; names are checked again on every delivery, when resolved.
    this.destinations.checkUrl(url);
    const row = {
      id: newId('wh'),
      name: body.name ?? url.host,
      url: url.toString(),
      secret: newSecret('whsec'),
      events: toJson(body.events ?? [...WEBHOOK_EVENTS]),
      created_at: this.ctx.now(),
    };
    await insertWebhook(this.ctx.store.db, row);
    // Only the host: some receivers (chat webhooks) carry their secret in the path.
    this.ctx.log.info({ webhookId: row.id, host: url.host }, 'webhook added');
    return { ...webhookFromRow(row), secret: row.secret };
  }

  async list(): Promise<Webhook[]> {
    return (await listWebhooks(this.ctx.store.db)).map(webhookFromRow);
  }

  async remove(id: string): Promise<void> {
    if (!(await this.ctx.store.tx((db) => deleteWebhook(db, id)))) throw new NotFoundError('webhook', id);
  }

  async deliveries(id: string, q: DeliveryListQuery): Promise<WebhookDelivery[]> {
    if (!(await getWebhook(this.ctx.store.db, id))) throw new NotFoundError('webhook', id);
    const rows = await listDeliveries(this.ctx.store.db, id, q);
    const attempts = await listAttempts(
      this.ctx.store.db,
      rows.map((r) => r.id),
    );
    return rows.map((r) => deliveryFromRow(r, attempts.filter((a) => a.delivery_id === r.id)));
  }

  /**
   * Queues one delivery per subscribed webhook, inside the caller's transaction: the alert
   * change and its notifications commit together, so a crash cannot lose one without the other.
   */
  static async enqueue(db: Kysely<Database>, event: WebhookEvent, alert: Alert, now: number): Promise<number> {
    const hooks = (await listWebhooks(db)).filter((h) => (JSON.parse(h.events) as string[]).includes(event));
    const rows: WebhookDeliveriesTable[] = hooks.map((h) => {
      const id = newId('whd');
      const payload: WebhookPayload = { id, event, at: now, alert };
      return {
        id,
        webhook_id: h.id,
        event,
        alert_id: alert.id,
        body: JSON.stringify(payload),
        state: 'pending',
        attempts: 0,
        next_attempt_at: now,
        lease_owner: null,
        lease_until: null,
        created_at: now,
        finished_at: null,
      };
    });
    await insertDeliveries(db, rows);
    return rows.length;
  }
}
