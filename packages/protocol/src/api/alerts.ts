import { Type, type Static } from '@sinclair/typebox';
import { ALERT_STATES, DELIVERY_STATES } from '../states.js';
import { Id, ListQuery, Nullable, Timestamp } from './common.js';
import { SeveritySchema } from './monitor.js';
import { Command, Job } from './commands.js';
import { Task } from './tasks.js';
import { ServiceStateSchema } from './services.js';

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

/** What a webhook may subscribe to; the alert ones are the same names as the SSE event kinds. */
export const WEBHOOK_EVENTS = [
  'alert.fired',
  'alert.resolved',
  'alert.acked',
  /** A command reached a final state (succeeded, failed, timed_out, cancelled, expired, rejected…). */
  'command.finished',
  /** A job's commands all ended. */
  'job.finished',
  /** A compute task ended (succeeded, failed, cancelled), after its retries. */
  'task.finished',
  /** A supervised service changed state on a node (running, unhealthy, backoff, fatal, stopped…). */
  'service.state',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
export const WebhookEventSchema = Type.Union(WEBHOOK_EVENTS.map((e) => Type.Literal(e)));
/** The alert events; also what a webhook gets when it names no events (as before the others existed). */
export const ALERT_WEBHOOK_EVENTS = ['alert.fired', 'alert.resolved', 'alert.acked'] as const;
export type AlertWebhookEvent = (typeof ALERT_WEBHOOK_EVENTS)[number];

/**
 * Narrows the events a webhook receives; every given field must match (an absent one matches all).
 * Alerts are matched on their node only (selector); the others on all three.
 */
export const WebhookFilter = Type.Object(
  {
    types: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 200, pattern: '^(\\*|[A-Za-z0-9_:/-][A-Za-z0-9._:/-]*?(\\.\\*)?)$' }), {
        minItems: 1,
        maxItems: 50,
        description: 'command types (exec.run, service.*), task kinds, service names or alert sources; prefix.* matches a prefix, * everything',
      }),
    ),
    selector: Type.Optional(Type.String({ minLength: 1, maxLength: 1000, description: 'label selector the event\'s node must match (role=web,!canary)' })),
    states: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 40, pattern: '^[a-z_]+$' }), {
        minItems: 1,
        maxItems: 20,
        description: 'final states (failed, timed_out…) or, for service.state, the new states',
      }),
    ),
  },
  { additionalProperties: false },
);
export type WebhookFilter = Static<typeof WebhookFilter>;

export const WebhookCreate = Type.Object(
  {
    url: Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 2048 }),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    events: Type.Optional(Type.Array(WebhookEventSchema, { minItems: 1, uniqueItems: true, description: 'default: the alert events' })),
    filter: Type.Optional(WebhookFilter),
  },
  { additionalProperties: false },
);
export type WebhookCreate = Static<typeof WebhookCreate>;

export const Webhook = Type.Object({
  id: Id,
  name: Type.String(),
  url: Type.String(),
  events: Type.Array(WebhookEventSchema),
  filter: Nullable(WebhookFilter),
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
  /** The alert's id for alert events; else null (see `subject`). */
  alertId: Nullable(Id),
  /** What the event is about: an alert, command, job or task id, or `<service>@<nodeId>`. */
  subject: Type.String(),
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

const PayloadBase = { id: Id, at: Timestamp };

/** A service's new state on one node, as `service.state` webhooks receive it. */
export const WebhookServiceState = Type.Object({
  name: Type.String(),
  nodeId: Id,
  nodeName: Type.String(),
  state: ServiceStateSchema,
  version: Nullable(Type.String()),
  revision: Nullable(Type.Integer()),
  reason: Nullable(Type.String()),
});

/** The JSON body a webhook receives: `event` says which of the objects it carries. */
export const WebhookPayload = Type.Union([
  Type.Object({ ...PayloadBase, event: Type.Union(ALERT_WEBHOOK_EVENTS.map((e) => Type.Literal(e))), alert: Alert }),
  Type.Object({ ...PayloadBase, event: Type.Literal('command.finished'), command: Command }),
  Type.Object({ ...PayloadBase, event: Type.Literal('job.finished'), job: Job }),
  Type.Object({ ...PayloadBase, event: Type.Literal('task.finished'), task: Task }),
  Type.Object({ ...PayloadBase, event: Type.Literal('service.state'), service: WebhookServiceState }),
]);
export type WebhookPayload = Static<typeof WebhookPayload>;
export type AlertWebhookPayload = Extract<WebhookPayload, { alert: unknown }>;

/** Header names of a webhook request; verify with HMAC-SHA256(secret, `${timestamp}.${body}`). */
export const WEBHOOK_HEADERS = {
  signature: 'x-steward-signature',
  timestamp: 'x-steward-timestamp',
  event: 'x-steward-event',
  delivery: 'x-steward-delivery',
} as const;
