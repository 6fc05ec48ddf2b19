import {
  NotFoundError,
  newId,
  type Alert,
  type AlertListQuery,
  type AlertWebhookEvent,
} from '@steward/protocol';
import type { Kysely } from 'kysely';
import type { Context } from '../core/context.js';
import { toJson } from '../store/rows.js';
import { ackAlert, ensureAlert, fireAlert, getAlert, listAlerts, resolveAlert, type AlertFire, type FireOutcome } from '../store/queries/alerts.js';
import type { AlertsTable, Database } from '../store/schema.js';
import { alertFromRow } from './rows.js';
import type { AlertInput, AlertSink } from '../core/alert-sink.js';
import { WebhookService } from './webhooks/service.js';

/**
 * The real alert sink: alerts live in the store, de-duplicated by key, and every change is an
 * SSE event and (in the same transaction) a queued webhook notification.
 *  - `fire` counts an occurrence: the open alert's count and lastFiredAt go up.
 *  - `ensure` only makes sure it is open: for state reported over and over (a monitor still
 *    firing, a node still offline), where a repeat is not a new occurrence.
 */
export class AlertService implements AlertSink {
  constructor(
    private readonly ctx: Context,
    /** Called after a change that may have queued webhook deliveries, so they go out now, not on the next sweep. */
    private readonly onQueued: () => void,
  ) {}

  fire(input: AlertInput): Promise<void> {
    return this.open(input, fireAlert).then(() => undefined);
  }

  ensure(input: AlertInput): Promise<Alert> {
    return this.open(input, ensureAlert);
  }

  async resolve(key: string, summary?: string): Promise<void> {
    await this.resolveKey(key, summary);
  }

  async resolveKey(key: string, summary?: string): Promise<Alert | null> {
    const now = this.ctx.now();
    const alert = await this.ctx.store.tx(async (db) => {
      const row = await resolveAlert(db, key, now, summary ?? null);
      return row ? this.notify(db, 'alert.resolved', row, now) : null;
    });
    if (alert) this.published('alert.resolved', alert, now);
    return alert;
  }

  async ack(id: string, by: string): Promise<Alert> {
    const now = this.ctx.now();
    const out = await this.ctx.store.tx(async (db) => {
      const res = await ackAlert(db, id, by, now);
      if (!res) return null;
      return { alert: res.changed ? await this.notify(db, 'alert.acked', res.row, now) : alertFromRow(res.row), changed: res.changed };
    });
    if (!out) throw new NotFoundError('alert', id);
    if (out.changed) this.published('alert.acked', out.alert, now);
    return out.alert;
  }

  async get(id: string): Promise<Alert> {
    const row = await getAlert(this.ctx.store.db, id);
    if (!row) throw new NotFoundError('alert', id);
    return alertFromRow(row);
  }

  async list(q: AlertListQuery): Promise<Alert[]> {
    return (await listAlerts(this.ctx.store.db, q)).map(alertFromRow);
  }

  private async open(input: AlertInput, write: (db: Kysely<Database>, a: AlertFire, now: number) => Promise<FireOutcome>): Promise<Alert> {
    const now = this.ctx.now();
    const fire: AlertFire = {
      id: newId('alert'),
      key: input.key,
      source: input.source,
      node_id: input.nodeId ?? null,
      severity: input.severity,
      summary: input.summary,
      details: toJson(input.details ?? null),
    };
    const { alert, created } = await this.ctx.store.tx(async (db) => {
      const out = await write(db, fire, now);
      return { alert: out.created ? await this.notify(db, 'alert.fired', out.row, now) : alertFromRow(out.row), created: out.created };
    });
    if (created) this.published('alert.fired', alert, now);
    return alert;
  }

  private async notify(db: Kysely<Database>, event: AlertWebhookEvent, row: AlertsTable, now: number): Promise<Alert> {
    const alert = alertFromRow(row);
    await WebhookService.enqueue(db, event, alert, now);
    return alert;
  }

  private published(kind: AlertWebhookEvent, alert: Alert, at: number): void {
    this.ctx.bus.publish({ kind, at, alert });
    const level = kind === 'alert.fired' ? 'warn' : 'info';
    this.ctx.log[level]({ alertId: alert.id, key: alert.key, nodeId: alert.nodeId }, `${kind}: ${alert.summary}`);
    this.onQueued();
  }
}
