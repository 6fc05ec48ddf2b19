import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  Alert,
  AlertListQuery,
  DeliveryListQuery,
  ForbiddenError,
  IdParams,
  listOf,
  Webhook,
  WebhookCreate,
  WebhookCreated,
  WebhookDelivery,
} from '@steward/protocol';
import type { Context } from '../core/context.js';
import { findNodeRow } from '../store/queries/nodes.js';
import type { AlertService } from './service.js';
import type { WebhookService } from './webhooks/service.js';

export function alertRoutes(app: FastifyInstance, ctx: Context, alerts: AlertService): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['alerts'];
  r.get('/api/v1/alerts', { schema: { tags, querystring: AlertListQuery, response: { 200: listOf(Alert) } } }, async (req) => {
    const q = { ...req.query };
    // A node's name works too; an id of a node deleted since still finds its old alerts.
    if (q.nodeId) q.nodeId = (await findNodeRow(ctx.store.db, q.nodeId))?.id ?? q.nodeId;
    return { items: await alerts.list(q) };
  });
  r.get('/api/v1/alerts/:id', { schema: { tags, params: IdParams, response: { 200: Alert } } }, async (req) => alerts.get(req.params.id));
  r.post('/api/v1/alerts/:id/ack', { schema: { tags, params: IdParams, response: { 200: Alert } } }, async (req) =>
    alerts.ack(req.params.id, req.tokenName ?? 'unknown'),
  );
}

export function webhookRoutes(app: FastifyInstance, webhooks: WebhookService): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['webhooks'];
  // Webhook URLs may carry a receiver's secret, so readers do not see them.
  const changers = async (req: { role?: string }) => {
    if (req.role !== 'admin' && req.role !== 'operator') throw new ForbiddenError('only admin and operator tokens may manage webhooks');
  };
  r.post('/api/v1/webhooks', { preHandler: changers, schema: { tags, body: WebhookCreate, response: { 201: WebhookCreated } } }, async (req, reply) =>
    reply.status(201).send(await webhooks.create(req.body)),
  );
  r.get('/api/v1/webhooks', { preHandler: changers, schema: { tags, response: { 200: listOf(Webhook) } } }, async () => ({
    items: await webhooks.list(),
  }));
  r.delete('/api/v1/webhooks/:id', { preHandler: changers, schema: { tags, params: IdParams } }, async (req, reply) => {
    await webhooks.remove(req.params.id);
    return reply.status(204).send();
  });
  r.get(
    '/api/v1/webhooks/:id/deliveries',
    { preHandler: changers, schema: { tags, params: IdParams, querystring: DeliveryListQuery, response: { 200: listOf(WebhookDelivery) } } },
    async (req) => ({ items: await webhooks.deliveries(req.params.id, req.query) }),
  );
}
