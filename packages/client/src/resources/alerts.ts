import type { Alert, AlertListQuery, DeliveryListQuery, Webhook, WebhookCreate, WebhookCreated, WebhookDelivery } from '@steward/protocol';
import { enc } from '../transport.js';
import { Resource, type List } from './resource.js';

export class AlertsApi extends Resource {
  async listAlerts(query: AlertListQuery = {}): Promise<List<Alert>> {
    return this.http.json<List<Alert>>('GET', '/alerts', { query: { ...query } });
  }

  async getAlert(id: string): Promise<Alert> {
    return this.http.json<Alert>('GET', `/alerts/${enc(id)}`);
  }

  /** Records who (this token's name) acknowledged it; acking again keeps the first ack. */
  async ackAlert(id: string): Promise<Alert> {
    return this.http.json<Alert>('POST', `/alerts/${enc(id)}/ack`);
  }
}

/** Webhooks (admin/operator). */
export class WebhooksApi extends Resource {
  /** The answer holds the signing secret; it is never shown again. */
  async createWebhook(body: WebhookCreate): Promise<WebhookCreated> {
    return this.http.json<WebhookCreated>('POST', '/webhooks', { body });
  }

  async listWebhooks(): Promise<List<Webhook>> {
    return this.http.json<List<Webhook>>('GET', '/webhooks');
  }

  async deleteWebhook(id: string): Promise<void> {
    await this.http.request('DELETE', `/webhooks/${enc(id)}`);
  }

  async listWebhookDeliveries(id: string, query: DeliveryListQuery = {}): Promise<List<WebhookDelivery>> {
    return this.http.json<List<WebhookDelivery>>('GET', `/webhooks/${enc(id)}/deliveries`, { query: { ...query } });
  }
}
