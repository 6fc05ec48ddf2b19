import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AgentUpgrade, AgentUpgradeCreate, AgentUpgradeDetail, AgentUpgradeListQuery, IdParams, listOf } from '@steward/protocol';
import { requesterOf } from '../commands/requester.js';
import type { AgentUpgradeService } from './service.js';

/** `/api/v1/agent-upgrades`: operator routes (readers may list and get; the HTTP layer audits the rest). */
export function agentUpgradeRoutes(app: FastifyInstance, upgrades: AgentUpgradeService): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['agent-upgrades'];
  r.post('/api/v1/agent-upgrades', { schema: { tags, summary: 'Start a fleet-wide agent upgrade', body: AgentUpgradeCreate, response: { 201: AgentUpgradeDetail } } }, async (req, reply) =>
    reply.status(201).send(await upgrades.create(req.body, requesterOf(req))),
  );
  r.get('/api/v1/agent-upgrades', { schema: { tags, querystring: AgentUpgradeListQuery, response: { 200: listOf(AgentUpgrade) } } }, async (req) => ({
    items: await upgrades.list(req.query),
  }));
  r.get('/api/v1/agent-upgrades/:id', { schema: { tags, summary: 'One upgrade with per-batch and per-node progress', params: IdParams, response: { 200: AgentUpgradeDetail } } }, async (req) =>
    upgrades.get(req.params.id),
  );
  for (const verb of ['pause', 'resume', 'abort'] as const) {
    r.post(`/api/v1/agent-upgrades/:id/${verb}`, { schema: { tags, params: IdParams, response: { 200: AgentUpgradeDetail } } }, async (req) => upgrades[verb](req.params.id));
  }
}
