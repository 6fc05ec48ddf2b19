import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ASCIICAST_CONTENT_TYPE, BinaryBody, ForbiddenError, IdParams, listOf, SessionListQuery, SessionRecording } from '@steward/protocol';
import type { CommandService } from '../commands/service.js';
import { iso, sendListing, type Column } from '../http/listing.js';
import type { RecordingService } from './service.js';

const COLUMNS: Column<SessionRecording>[] = [
  { header: 'id', value: (s) => s.id },
  { header: 'node', value: (s) => s.nodeId },
  { header: 'opened_by', value: (s) => s.openedBy?.name ?? '' },
  { header: 'started', value: (s) => iso(s.startedAt) },
  { header: 'duration_ms', value: (s) => String(s.durationMs) },
  { header: 'state', value: (s) => s.state },
  { header: 'exit_code', value: (s) => (s.exitCode === null ? '' : String(s.exitCode)) },
  { header: 'bytes', value: (s) => String(s.bytes) },
];

/** Recordings hold whatever the terminal showed (secrets too): operator and admin tokens only. */
function operatorOnly(req: FastifyRequest): void {
  if (req.role !== 'admin' && req.role !== 'operator') throw new ForbiddenError('only admin and operator tokens may read session recordings');
}

export function recordingRoutes(api: FastifyInstance, recordings: RecordingService, commands: CommandService): void {
  const r = api.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['sessions'];
  r.get(
    '/api/v1/sessions',
    { schema: { tags, summary: 'Recorded terminal sessions, newest first (operator)', querystring: SessionListQuery, response: { 200: listOf(SessionRecording) } } },
    async (req, reply) => {
      operatorOnly(req);
      const nodeId = req.query.node ? (await commands.resolveNode(req.query.node)).id : undefined;
      const items = await recordings.list(req.query, nodeId);
      if (sendListing(req, reply, COLUMNS, items)) return reply;
      return { items };
    },
  );
  r.get('/api/v1/sessions/:id', { schema: { tags, summary: "A session recording's metadata (operator)", params: IdParams, response: { 200: SessionRecording } } }, async (req) => {
    operatorOnly(req);
    return recordings.get(req.params.id);
  });
  r.get(
    '/api/v1/sessions/:id/recording',
    {
      schema: {
        tags,
        summary: 'The session as an asciicast v2 file (operator); play it with asciinema or the dashboard',
        produces: [ASCIICAST_CONTENT_TYPE],
        params: IdParams,
        response: { 200: BinaryBody },
      },
    },
    async (req, reply) => {
      operatorOnly(req);
      const { size, stream } = await recordings.open(req.params.id);
      reply
        .header('content-type', ASCIICAST_CONTENT_TYPE)
        .header('content-length', String(size))
        .header('content-disposition', `attachment; filename="session-${req.params.id.replace(/[^\w.-]/g, '_')}.cast"`)
        .header('cache-control', 'private, no-store');
      return reply.send(stream);
    },
  );
  r.delete('/api/v1/sessions/:id', { schema: { tags, summary: 'Delete a session recording and its file', params: IdParams } }, async (req, reply) => {
    operatorOnly(req);
    await recordings.remove(req.params.id);
    return reply.status(204).send();
  });
}
