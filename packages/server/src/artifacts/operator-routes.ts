import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Artifact, ArtifactListQuery, ArtifactParams, ArtifactUploadQuery, BinaryBody, ForbiddenError, listOf } from '@steward/protocol';
import type { ArtifactService } from './service.js';
import { receiveUpload, sendDownload, streamBodies } from './transfer.js';

/** `/api/v1/artifacts`: operators upload, list, download and delete artifacts. */
export function artifactRoutes(api: FastifyInstance, service: ArtifactService): void {
  const tags = ['artifacts'];
  void api.register(async (scope) => {
    streamBodies(scope);
    const r = scope.withTypeProvider<TypeBoxTypeProvider>();
    r.put(
      '/api/v1/artifacts',
      {
        schema: {
          tags,
          summary: 'Upload an artifact (raw streamed body); named by its SHA-256',
          consumes: ['application/octet-stream'],
          querystring: ArtifactUploadQuery,
          body: BinaryBody,
          response: { 200: Artifact, 201: Artifact },
        },
      },
      async (req, reply) => receiveUpload(service, req, reply, `token:${req.apiTokenId ?? 'unknown'}`),
    );
    r.get('/api/v1/artifacts', { schema: { tags, summary: 'List artifacts', querystring: ArtifactListQuery, response: { 200: listOf(Artifact) } } }, async (req) => ({
      items: await service.list(req.query),
    }));
    r.get('/api/v1/artifacts/:sha256/meta', { schema: { tags, summary: "An artifact's metadata", params: ArtifactParams, response: { 200: Artifact } } }, async (req) =>
      service.meta(req.params.sha256),
    );
    r.get(
      '/api/v1/artifacts/:sha256',
      { schema: { tags, summary: "Download an artifact's bytes (streamed; ETag is the sha); operator and admin tokens only", produces: ['application/octet-stream'], params: ArtifactParams, response: { 200: BinaryBody } } },
      async (req, reply) => {
        // Artifacts hold backup archives (whole directory trees) and service bundles: a reader
        // token (dashboards) sees their metadata, not their bytes.
        if (req.role !== 'admin' && req.role !== 'operator') throw new ForbiddenError('only admin and operator tokens may download artifact bytes');
        return sendDownload(service, req.params.sha256, req, reply);
      },
    );
    r.delete('/api/v1/artifacts/:sha256', { schema: { tags, summary: 'Delete an artifact', params: ArtifactParams } }, async (req, reply) => {
      await service.remove(req.params.sha256);
      return reply.status(204).send();
    });
  });
}
