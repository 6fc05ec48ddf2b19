import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Command, CommandCreate, CommandListQuery, IdParams, listOf, WaitQuery } from '@steward/protocol';
import type { CommandService } from './service.js';
import { COMMAND_COLUMNS } from './columns.js';
import { sendListing } from '../http/listing.js';
import { requesterOf } from './requester.js';

export function commandRoutes(app: FastifyInstance, commands: CommandService): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['commands'];
  r.post(
    '/api/v1/commands',
    { schema: { tags, body: CommandCreate, response: { 200: Command, 201: Command } } },
    async (req, reply) => {
      const { command, created } = await commands.submit(req.body, requesterOf(req));
      return reply.status(created ? 201 : 200).send(command);
    },
  );
  r.get('/api/v1/commands', { schema: { tags, querystring: CommandListQuery, response: { 200: listOf(Command) } } }, async (req, reply) => {
    const items = await commands.list(req.query);
    if (sendListing(req, reply, COMMAND_COLUMNS, items)) return reply;
    return { items };
  });
  r.get('/api/v1/commands/:id', { schema: { tags, params: IdParams, querystring: WaitQuery, response: { 200: Command } } }, async (req) =>
    commands.waitForEnd(req.params.id, (req.query.wait ?? 0) * 1000),
  );
  r.post('/api/v1/commands/:id/cancel', { schema: { tags, params: IdParams, response: { 200: Command } } }, async (req) =>
    commands.cancel(req.params.id),
  );
}
