import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AGENT_CONNECT_PATH, AGENT_ENROLL_PATH, EnrollRequest, EnrollResponse, newId } from '@steward/protocol';
import type { AgentGateway } from '../../agents/gateway.js';
import { AgentSession } from '../../agents/session.js';
import type { Context } from '../../context.js';
import type { EnrollmentService } from '../../enrollment/service.js';
import { nodeAuth } from '../../agents/node-auth.js';

/** The agent's side of the API: enrollment and its one WebSocket. */
export function agentRoutes(
  app: FastifyInstance,
  ctx: Context,
  enrollment: EnrollmentService,
  gateway: AgentGateway,
  replicaId: string,
): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.post(AGENT_ENROLL_PATH, { schema: { tags: ['agent'], body: EnrollRequest, response: { 201: EnrollResponse } } }, async (req, reply) =>
    reply.status(201).send(await enrollment.enroll(req.body)),
  );

  r.get(
    AGENT_CONNECT_PATH,
    {
      websocket: true,
      schema: { hide: true },
      // Checked before the upgrade, so a bad credential gets a plain 401, not a socket.
      preValidation: nodeAuth(ctx.store.db),
    },
    (socket, req) => {
      const session = new AgentSession(req.nodeId!, `${replicaId}:${newId('conn')}`, socket, gateway, ctx.log);
      ctx.hub.add(session);
    },
  );
}
