import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { IdParams, listOf, Node, NodeCredentialRotation, NodeDeleteQuery, NodeListQuery, NodePatch } from '@steward/protocol';
import type { NodeService } from './service.js';
import { NODE_COLUMNS } from './columns.js';
import { sendListing } from '../http/listing.js';

export function nodeRoutes(app: FastifyInstance, nodes: NodeService): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['nodes'];
  r.get('/api/v1/nodes', { schema: { tags, querystring: NodeListQuery, response: { 200: listOf(Node) } } }, async (req, reply) => {
    const items = await nodes.list(req.query);
    if (sendListing(req, reply, NODE_COLUMNS, items)) return reply;
    return { items };
  });
  r.get('/api/v1/nodes/:id', { schema: { tags, params: IdParams, response: { 200: Node } } }, async (req) =>
    nodes.get(req.params.id),
  );
  r.patch('/api/v1/nodes/:id', { schema: { tags, params: IdParams, body: NodePatch, response: { 200: Node } } }, async (req) =>
    nodes.patch(req.params.id, req.body),
  );
  r.post('/api/v1/nodes/:id/rotate-credential', { schema: { tags, params: IdParams, response: { 202: NodeCredentialRotation } } }, async (req, reply) =>
    reply.status(202).send(await nodes.rotateCredential(req.params.id)),
  );
  r.post('/api/v1/nodes/:id/revoke', { schema: { tags, params: IdParams, response: { 200: Node } } }, async (req) => nodes.revoke(req.params.id));
  r.delete('/api/v1/nodes/:id', { schema: { tags, params: IdParams, querystring: NodeDeleteQuery } }, async (req, reply) => {
    await nodes.remove(req.params.id, req.query.force ?? false);
    return reply.status(204).send();
  });
}
