import type { Kysely } from 'kysely';
import {
  ALERT_WEBHOOK_EVENTS,
  newId,
  NotFoundError,
  ValidationError,
  type Alert,
  type AlertWebhookEvent,
  type Labels,
  type DeliveryListQuery,
  type Webhook,
  type WebhookCreate,
  type WebhookCreated,
  type WebhookDelivery,
  type WebhookEvent,
  type WebhookFilter,
  type WebhookPayload,
} from '@steward/protocol';
import { newSecret } from '@steward/protocol/node';
import type { Context } from '../../core/context.js';
import type { Database, WebhookDeliveriesTable } from '../../store/schema.js';
import { fromJson, toJson } from '../../store/rows.js';
import type { DestinationPolicy } from '../../security/destinations.js';
import { deleteWebhook, getWebhook, insertDeliveries, insertWebhook, listAttempts, listDeliveries, listWebhooks } from '../../store/queries/webhooks.js';
import { getNodeRow } from '../../store/queries/nodes.js';
import { deliveryFromRow, webhookFromRow } from '../rows.js';
import { WebhookMatcher, type EventFacts } from './filter.js';

/** One occurrence of an event, ready to be queued for the webhooks that want it. */
export interface EventOccurrence {
  event: WebhookEvent;
  /** What it is about (an alert, command, job or task id, or `<service>@<nodeId>`). */
  subject: string;
  /** Unique per webhook: a second occurrence with the same key is not queued again. Null: always queue. */
  dedupeKey: string | null;
  /** The payload's object under its name (`alert`, `command`, `job`, `task`, `service`). */
  body: Record<string, unknown>;
  facts: Omit<EventFacts, 'labels'>;
  /** The event's node, whose labels a filter's selector is matched against. */
  nodeId: string | null;
}

/** Configured webhook receivers, and the notifications queued for them. */
export class WebhookService {
  constructor(
    private readonly ctx: Context,
    private readonly destinations: DestinationPolicy,
    /** Told when the set of webhooks changed here, so cached subscriptions are read again. */
    private readonly changed: () => void = () => {},
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
    // Parsing the selector now turns a bad one into a 400 instead of a webhook that never matches.
    if (body.filter) new WebhookMatcher(body.filter);
    const row = {
      id: newId('wh'),
      name: body.name ?? url.host,
      url: url.toString(),
      secret: newSecret('whsec'),
      events: toJson(body.events ?? [...ALERT_WEBHOOK_EVENTS]),
      filter: body.filter ? toJson(body.filter) : null,
      created_at: this.ctx.now(),
    };
    await insertWebhook(this.ctx.store.db, row);
    this.changed();
    // Only the host: some receivers (chat webhooks) carry their secret in the path.
    this.ctx.log.info({ webhookId: row.id, host: url.host }, 'webhook added');
    return { ...webhookFromRow(row), secret: row.secret };
  }

  async list(): Promise<Webhook[]> {
    return (await listWebhooks(this.ctx.store.db)).map(webhookFromRow);
  }

  async remove(id: string): Promise<void> {
    if (!(await this.ctx.store.tx((db) => deleteWebhook(db, id)))) throw new NotFoundError('webhook', id);
    this.changed();
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
  static async enqueue(db: Kysely<Database>, event: AlertWebhookEvent, alert: Alert, now: number): Promise<number> {
    return WebhookService.enqueueEvent(
      db,
      { event, subject: alert.id, dedupeKey: null, body: { alert }, facts: { type: alert.source, state: alert.state }, nodeId: alert.nodeId },
      now,
    );
  }

  /**
   * Queues one delivery of `o` per webhook that subscribes to its event and whose filter it
   * matches; a webhook that already has `o.dedupeKey` is skipped. Returns how many were queued.
   */
  static async enqueueEvent(db: Kysely<Database>, o: EventOccurrence, now: number): Promise<number> {
    const hooks = (await listWebhooks(db))
      .filter((h) => (JSON.parse(h.events) as string[]).includes(o.event))
      .map((h) => ({ h, matcher: new WebhookMatcher(fromJson<WebhookFilter>(h.filter)) }));
    if (hooks.length === 0) return 0;
    let labels: Labels | undefined;
    if (o.nodeId && hooks.some((x) => x.matcher.needsLabels)) {
      labels = fromJson<Labels>((await getNodeRow(db, o.nodeId))?.labels ?? null) ?? undefined;
    }
    const rows: WebhookDeliveriesTable[] = hooks
      .filter((x) => x.matcher.matches({ ...o.facts, labels }))
      .map(({ h }) => {
        const id = newId('whd');
        const payload = { id, event: o.event, at: now, ...o.body } as WebhookPayload;
        return {
          id,
          webhook_id: h.id,
          event: o.event,
          alert_id: o.subject,
          dedupe_key: o.dedupeKey,
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
    return insertDeliveries(db, rows);
  }
}
