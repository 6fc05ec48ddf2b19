import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ConfigDocument, ConfigDocumentNameParams, ConfigDocumentPut, IdParams, listOf, NodeConfigView } from '@steward/protocol';
import type { AgentConfigService } from './service.js';

export function agentConfigRoutes(app: FastifyInstance, configs: AgentConfigService): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['agent-config'];
  r.get('/api/v1/agent-config', { schema: { tags, response: { 200: listOf(ConfigDocument) } } }, async () => ({ items: await configs.list() }));
  r.get('/api/v1/agent-config/:name', { schema: { tags, params: ConfigDocumentNameParams, response: { 200: ConfigDocument } } }, async (req) =>
    configs.get(req.params.name),
  );
  // Readers are refused by operator authentication (they may only read).
  r.put('/api/v1/agent-config/:name', { schema: { tags, params: ConfigDocumentNameParams, body: ConfigDocumentPut, response: { 200: ConfigDocument } } }, async (req) =>
    configs.put(req.params.name, req.body, req.tokenName ?? req.apiTokenId ?? 'unknown'),
  );
  r.delete('/api/v1/agent-config/:name', { schema: { tags, params: ConfigDocumentNameParams } }, async (req, reply) => {
    await configs.remove(req.params.name);
    return reply.status(204).send();
  });
  r.get('/api/v1/nodes/:id/config', { schema: { tags, params: IdParams, response: { 200: NodeConfigView } } }, async (req) => configs.nodeView(req.params.id));
}
