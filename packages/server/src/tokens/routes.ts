import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ApiToken, ApiTokenCreate, ApiTokenCreated, ForbiddenError, IdParams, listOf } from '@steward/protocol';
import type { TokenService } from './service.js';

export function tokenRoutes(app: FastifyInstance, tokens: TokenService): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['tokens'];
  // Tokens grant power, so only admins see or make them.
  const adminOnly = async (req: { role?: string }) => {
    if (req.role !== 'admin') throw new ForbiddenError('only an admin token may manage tokens');
  };
  r.post('/api/v1/tokens', { preHandler: adminOnly, schema: { tags, body: ApiTokenCreate, response: { 201: ApiTokenCreated } } }, async (req, reply) =>
    reply.status(201).send(await tokens.create(req.body)),
  );
  // Any token may ask what it is (its role decides which buttons the dashboard shows).
  r.get('/api/v1/tokens/self', { schema: { tags, response: { 200: ApiToken } } }, async (req) => tokens.self(req.apiTokenId!));
  r.get('/api/v1/tokens', { preHandler: adminOnly, schema: { tags, response: { 200: listOf(ApiToken) } } }, async () => ({ items: await tokens.list() }));
  r.delete('/api/v1/tokens/:id', { preHandler: adminOnly, schema: { tags, params: IdParams } }, async (req, reply) => {
    await tokens.remove(req.params.id);
    return reply.status(204).send();
  });
}
