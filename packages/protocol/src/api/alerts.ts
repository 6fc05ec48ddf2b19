import { Type, type Static } from '@sinclair/typebox';
import { ALERT_STATES, DELIVERY_STATES } from '../states.js';
import { Id, ListQuery, Nullable, Timestamp } from './common.js';
import { SeveritySchema } from './monitor.js';

export const AlertStateSchema = Type.Union(ALERT_STATES.map((s) => Type.Literal(s)));

export const Alert = Type.Object(
  {
    id: Id,
    key: Type.String({ description: 'de-duplication key, e.g. monitor:<nodeId>:<checkId>, node:<nodeId>:offline' }),
    state: AlertStateSchema,
    source: Type.String({ description: 'monitor, node, command, …' }),
    nodeId: Nullable(Id),
    severity: SeveritySchema,
    summary: Type.String(),
    details: Type.Unknown(),
    count: Type.Integer({ minimum: 1, description: 'how often it fired while open' }),
    firstFiredAt: Timestamp,
    lastFiredAt: Timestamp,
    resolvedAt: Nullable(Timestamp),
    resolveSummary: Nullable(Type.String()),
    ackedAt: Nullable(Timestamp),
    ackedBy: Nullable(Type.String({ description: 'name of the API token that acknowledged it' })),
  },
  { description: 'something that needs a person, raised by a monitor or the control plane' },
);
export type Alert = Static<typeof Alert>;

export const AlertListQuery = Type.Object({
  state: Type.Optional(AlertStateSchema),
  nodeId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  acked: Type.Optional(Type.Boolean()),
  source: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  ...ListQuery,
});
export type AlertListQuery = Static<typeof AlertListQuery>;

/** What a webhook may subscribe to; the same names as the SSE event kinds. */
export const WEBHOOK_EVENTS = ['alert.fired', 'alert.resolved', 'alert.acked'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
export const WebhookEventSchema = Type.Union(WEBHOOK_EVENTS.map((e) => Type.Literal(e)));

export const WebhookCreate = Type.Object(
  {
    url: Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 2048 }),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    events: Type.Optional(Type.Array(WebhookEventSchema, { minItems: 1, uniqueItems: true, description: 'default: every event' })),
  },
  { additionalProperties: false },
);
export type WebhookCreate = Static<typeof WebhookCreate>;

export const Webhook = Type.Object({
  id: Id,
  name: Type.String(),
  url: Type.String(),
  events: Type.Array(WebhookEventSchema),
  createdAt: Timestamp,
});
export type Webhook = Static<typeof Webhook>;

export const WebhookCreated = Type.Composite([
  Webhook,
  Type.Object({ secret: Type.String({ description: 'HMAC-SHA256 key; shown only here' }) }),
]);
export type WebhookCreated = Static<typeof WebhookCreated>;

export const DeliveryStateSchema = Type.Union(DELIVERY_STATES.map((s) => Type.Literal(s)));

export const DeliveryAttempt = Type.Object({
  n: Type.Integer({ minimum: 1 }),
  at: Timestamp,
  durationMs: Type.Integer({ minimum: 0 }),
  statusCode: Nullable(Type.Integer()),
  error: Nullable(Type.String()),
});
export type DeliveryAttempt = Static<typeof DeliveryAttempt>;

export const WebhookDelivery = Type.Object({
  id: Id,
  webhookId: Id,
  event: WebhookEventSchema,
  alertId: Id,
  state: DeliveryStateSchema,
  attempts: Type.Array(DeliveryAttempt),
  nextAttemptAt: Nullable(Timestamp),
  createdAt: Timestamp,
  finishedAt: Nullable(Timestamp),
});
export type WebhookDelivery = Static<typeof WebhookDelivery>;

export const DeliveryListQuery = Type.Object({
  state: Type.Optional(DeliveryStateSchema),
  ...ListQuery,
});
export type DeliveryListQuery = Static<typeof DeliveryListQuery>;

/** The JSON body a webhook receives. */
export const WebhookPayload = Type.Object({
  id: Id,
  event: WebhookEventSchema,
  at: Timestamp,
  alert: Alert,
});
export type WebhookPayload = Static<typeof WebhookPayload>;

/** Header names of a webhook request; verify with HMAC-SHA256(secret, `${timestamp}.${body}`). */
export const WEBHOOK_HEADERS = {
  signature: 'x-steward-signature',
  timestamp: 'x-steward-timestamp',
  event: 'x-steward-event',
  delivery: 'x-steward-delivery',
} as const;
