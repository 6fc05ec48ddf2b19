import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { EnrollmentToken, EnrollmentTokenCreate, EnrollmentTokenCreated, IdParams, listOf } from '@steward/protocol';
import type { EnrollmentService } from './service.js';

export function enrollmentRoutes(app: FastifyInstance, enrollment: EnrollmentService): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.post(
    '/api/v1/enrollment-tokens',
    { schema: { tags: ['enrollment'], body: EnrollmentTokenCreate, response: { 201: EnrollmentTokenCreated } } },
    async (req, reply) => reply.status(201).send(await enrollment.create(req.body ?? {})),
  );
  r.get('/api/v1/enrollment-tokens', { schema: { tags: ['enrollment'], response: { 200: listOf(EnrollmentToken) } } }, async () => ({
    items: await enrollment.list(),
  }));
  r.delete('/api/v1/enrollment-tokens/:id', { schema: { tags: ['enrollment'], params: IdParams } }, async (req, reply) => {
    await enrollment.remove(req.params.id);
    return reply.status(204).send();
  });
}
