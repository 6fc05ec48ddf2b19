import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  listOf,
  Service,
  ServiceActionBody,
  ServiceLogsQuery,
  ServiceLogsResult,
  ServiceNameParams,
  ServiceNodeReport,
  ServicePut,
} from '@steward/protocol';
import type { ServiceCatalog } from './catalog.js';

export function serviceRoutes(app: FastifyInstance, catalog: ServiceCatalog): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['services'];
  r.put(
    '/api/v1/services/:name',
    { schema: { tags, params: ServiceNameParams, body: ServicePut, response: { 200: Service, 201: Service } } },
    async (req, reply) => {
      const { service, created } = await catalog.put(req.params.name, req.body);
      return reply.status(created ? 201 : 200).send(service);
    },
  );
  r.get('/api/v1/services', { schema: { tags, response: { 200: listOf(Service) } } }, async () => ({ items: await catalog.list() }));
  r.get('/api/v1/services/:name', { schema: { tags, params: ServiceNameParams, response: { 200: Service } } }, async (req) =>
    catalog.get(req.params.name),
  );
  r.delete('/api/v1/services/:name', { schema: { tags, params: ServiceNameParams } }, async (req, reply) => {
    await catalog.remove(req.params.name);
    return reply.status(204).send();
  });
  for (const verb of ['start', 'stop', 'restart', 'status'] as const) {
    r.post(
      `/api/v1/services/:name/${verb}`,
      { schema: { tags, params: ServiceNameParams, body: ServiceActionBody, response: { 200: ServiceNodeReport } } },
      async (req) => (await catalog.action(req.params.name, req.body.node, `service.${verb}`)) as ServiceNodeReport,
    );
  }
  r.get(
    '/api/v1/services/:name/logs',
    { schema: { tags, params: ServiceNameParams, querystring: ServiceLogsQuery, response: { 200: ServiceLogsResult } } },
    async (req) => {
      const { node, offset, maxBytes } = req.query;
      const payload: Record<string, unknown> = {};
      if (offset !== undefined) payload.offset = offset;
      if (maxBytes !== undefined) payload.maxBytes = maxBytes;
      return (await catalog.action(req.params.name, node, 'service.logs', payload)) as ServiceLogsResult;
    },
  );
}
