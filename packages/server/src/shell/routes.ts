import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Command, IdParams, ShellAccepted, ShellInput, ShellOpen, ShellResize } from '@steward/protocol';
import { requesterOf } from '../commands/requester.js';
import type { ShellService } from './service.js';

export function shellRoutes(app: FastifyInstance, shell: ShellService): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['shell'];
  r.post(
    '/api/v1/nodes/:id/shell',
    { schema: { tags, params: IdParams, body: ShellOpen, response: { 201: Command } }, config: { auditAction: 'shell.open' } },
    async (req, reply) => {
      const command = await shell.open(req.params.id, req.body, requesterOf(req));
      // The audit entry names the session (its command), not only the node.
      req.auditTarget = command.id;
      return reply.status(201).send(command);
    },
  );
  // Keystrokes and resizes: many per second, so not audited call by call (opening the session is).
  r.post(
    '/api/v1/commands/:id/input',
    { schema: { tags, params: IdParams, body: ShellInput, response: { 200: ShellAccepted } }, config: { auditSkip: true } },
    async (req) => {
      await shell.input(req.params.id, req.body.seq, req.body.data);
      return { ok: true as const };
    },
  );
  r.post(
    '/api/v1/commands/:id/resize',
    { schema: { tags, params: IdParams, body: ShellResize, response: { 200: ShellAccepted } }, config: { auditSkip: true } },
    async (req) => {
      await shell.resize(req.params.id, req.body.cols, req.body.rows);
      return { ok: true as const };
    },
  );
}
