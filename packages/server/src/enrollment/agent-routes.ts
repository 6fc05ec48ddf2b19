import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AGENT_ENROLL_PATH, EnrollRequest, EnrollResponse } from '@steward/protocol';
import type { EnrollmentService } from './service.js';

/** Enrollment: an agent trades its token for a node credential (its connection is the link's). */
export function agentRoutes(app: FastifyInstance, enrollment: EnrollmentService): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.post(AGENT_ENROLL_PATH, { schema: { tags: ['agent'], body: EnrollRequest, response: { 201: EnrollResponse } } }, async (req, reply) =>
    reply.status(201).send(await enrollment.enroll(req.body)),
  );
}
