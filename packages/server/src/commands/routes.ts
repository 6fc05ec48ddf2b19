import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Command, CommandCreate, CommandListQuery, CommandOutputQuery, IdParams, listOf, WaitQuery } from '@steward/protocol';
import type { CommandService } from './service.js';
import { COMMAND_COLUMNS } from './columns.js';
import { sendListing } from '../http/listing.js';
import { requesterOf } from './requester.js';

/** The Server-Sent Events routes' handlers (they take the response over). */
export interface OutputRoutes {
  command(id: string, opts: { follow: boolean; after: number | undefined }, req: FastifyRequest, reply: FastifyReply): Promise<void>;
  job(id: string, req: FastifyRequest, reply: FastifyReply): Promise<void>;
}

export function commandRoutes(app: FastifyInstance, commands: CommandService, output: OutputRoutes): void {
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
  r.get(
    '/api/v1/commands/:id/output',
    {
      schema: {
        tags,
        params: IdParams,
        querystring: CommandOutputQuery,
        description:
          'Server-Sent Events: `output` (id = seq; OutputChunk) with what is stored, then live; `truncated` ({bytes}) once if the cap cut it; ' +
          '`end` (the command) once it ended. Resumes after Last-Event-ID or `after`.',
      },
    },
    async (req, reply) => output.command(req.params.id, { follow: req.query.follow ?? true, after: req.query.after }, req, reply),
  );
  r.get(
    '/api/v1/jobs/:id/output',
    {
      schema: {
        tags: ['jobs'],
        params: IdParams,
        description:
          'Server-Sent Events: `output` (JobOutputChunk) of every command as it arrives, `end` ({commandId, nodeId, command}) per command, ' +
          'then `done` (the job).',
      },
    },
    async (req, reply) => output.job(req.params.id, req, reply),
  );
  r.post('/api/v1/commands/:id/cancel', { schema: { tags, params: IdParams, response: { 200: Command } } }, async (req) =>
    commands.cancel(req.params.id),
  );
}
