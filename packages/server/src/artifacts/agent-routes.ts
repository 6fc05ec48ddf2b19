import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AGENT_ARTIFACTS_PATH, Artifact, ArtifactParams, ArtifactUploadQuery, BinaryBody } from '@steward/protocol';
import { nodeAuth } from '../agents/node-auth.js';
import type { Context } from '../core/context.js';
import type { ArtifactService } from './service.js';
import { receiveUpload, sendDownload, streamBodies } from './transfer.js';

/** `/agent/v1/artifacts`: agents download and upload with their node credential. */
export function agentArtifactRoutes(app: FastifyInstance, ctx: Context, service: ArtifactService, requireClientCert = false): void {
  const tags = ['agent'];
  void app.register(async (scope) => {
    streamBodies(scope);
    // onRequest: the credential is checked before a single byte of the body is read.
    scope.addHook('onRequest', nodeAuth(ctx.store.db, requireClientCert));
    const r = scope.withTypeProvider<TypeBoxTypeProvider>();
    // The bearer here is the node credential, not an operator token.
    const security = [{ bearer: [] }];
    r.put(
      AGENT_ARTIFACTS_PATH,
      {
        schema: {
          tags,
          security,
          summary: 'Agent upload (node credential as bearer)',
          consumes: ['application/octet-stream'],
          querystring: ArtifactUploadQuery,
          body: BinaryBody,
          response: { 200: Artifact, 201: Artifact },
        },
      },
      async (req, reply) =>
        receiveUpload(service, req, reply, `node:${req.nodeId}`, { bytes: ctx.settings.limits.artifactBytesPerNode, count: ctx.settings.limits.artifactsPerNode }),
    );
    r.get(
      `${AGENT_ARTIFACTS_PATH}/:sha256`,
      { schema: { tags, security, summary: 'Agent download (node credential as bearer)', produces: ['application/octet-stream'], params: ArtifactParams, response: { 200: BinaryBody } } },
      async (req, reply) => {
        await service.checkNodeMayRead(req.nodeId!, req.params.sha256);
        return sendDownload(service, req.params.sha256, req, reply);
      },
    );
  });
}
