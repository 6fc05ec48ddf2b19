import { ALERT_WEBHOOK_EVENTS, type Alert, type DeliveryAttempt, type DeliveryState, type Severity, type Webhook, type WebhookDelivery, type WebhookEvent, type WebhookFilter, type AlertState } from '@steward/protocol';
import { fromJson } from '../store/rows.js';
import type { AlertsTable, WebhookAttemptsTable, WebhookDeliveriesTable, WebhooksTable } from '../store/schema.js';

export function alertFromRow(r: AlertsTable): Alert {
  return {
    id: r.id,
    key: r.key,
    state: r.state as AlertState,
    source: r.source,
    nodeId: r.node_id,
    severity: r.severity as Severity,
    summary: r.summary,
    details: fromJson(r.details),
    count: r.count,
    firstFiredAt: r.first_fired_at,
    lastFiredAt: r.last_fired_at,
    resolvedAt: r.resolved_at,
    resolveSummary: r.resolve_summary,
    ackedAt: r.acked_at,
    ackedBy: r.acked_by,
  };
}

export function webhookFromRow(r: WebhooksTable): Webhook {
  return { id: r.id, name: r.name, url: r.url, events: fromJson<WebhookEvent[]>(r.events) ?? [], filter: fromJson<WebhookFilter>(r.filter), createdAt: r.created_at };
}

function attemptFromRow(a: WebhookAttemptsTable): DeliveryAttempt {
  return { n: a.n, at: a.at, durationMs: a.duration_ms, statusCode: a.status_code, error: a.error };
}

export function deliveryFromRow(r: WebhookDeliveriesTable, attempts: WebhookAttemptsTable[]): WebhookDelivery {
  return {
    id: r.id,
    webhookId: r.webhook_id,
    event: r.event as WebhookEvent,
    alertId: (ALERT_WEBHOOK_EVENTS as readonly string[]).includes(r.event) ? r.alert_id : null,
    subject: r.alert_id,
    state: r.state as DeliveryState,
    attempts: attempts.map(attemptFromRow),
    nextAttemptAt: r.next_attempt_at,
    createdAt: r.created_at,
    finishedAt: r.finished_at,
  };
}
