export interface WebhooksTable {
  id: string;
  name: string;
  url: string;
  /** The HMAC key itself: signing needs it, so it cannot be stored as a hash. */
  secret: string;
  events: string;
  /** JSON WebhookFilter, or null: every occurrence of its events. */
  filter: string | null;
  created_at: number;
}

export interface WebhookDeliveriesTable {
  id: string;
  webhook_id: string;
  event: string;
  /** The event's subject: the alert's id for alert events, else the command, job or task id, or `<service>@<nodeId>`. */
  alert_id: string;
  /** Unique per webhook: a final state is delivered once however often it is seen; null for alerts. */
  dedupe_key: string | null;
  /** The exact JSON sent on every attempt (the signature covers it). */
  body: string;
  state: string;
  attempts: number;
  next_attempt_at: number | null;
  lease_owner: string | null;
  lease_until: number | null;
  created_at: number;
  finished_at: number | null;
}

export interface WebhookAttemptsTable {
  id: string;
  delivery_id: string;
  n: number;
  at: number;
  duration_ms: number;
  status_code: number | null;
  error: string | null;
}

/** The tables of webhooks, their deliveries and attempts. */
export interface WebhookTables {
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
}
