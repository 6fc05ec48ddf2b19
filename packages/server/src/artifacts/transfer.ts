import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Ajv } from 'ajv';
import type { ArtifactUploadQuery } from '@steward/protocol';
import { discard } from './blob-files.js';
import type { ArtifactService, PutOptions } from './service.js';

/** How long the rest of a refused upload is read (and dropped) before the connection is cut. */
const REFUSED_BODY_GRACE_MS = 30_000;

/**
 * Makes `scope` hand request bodies to handlers as the raw stream, whatever their content type,
 * so uploads are never buffered (and the JSON body limit does not apply to them). Bodies are
 * validated by nobody but the handler; query strings and params still are, with coercion.
 */
export function streamBodies(scope: FastifyInstance): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
  const textAjv = new Ajv({ removeAdditional: false, allErrors: true, coerceTypes: 'array', useDefaults: true, strict: false });
  scope.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? () => true : textAjv.compile(schema)));
}

function declaredLength(req: FastifyRequest): number | undefined {
  const v = req.headers['content-length'];
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** Streams the request body into the store; 201 when new, 200 when those bytes were already there. */
export async function receiveUpload(
  service: ArtifactService,
  req: FastifyRequest,
  reply: FastifyReply,
  createdBy: string,
  quota?: PutOptions['quota'],
): Promise<void> {
  const query = req.query as ArtifactUploadQuery;
  const declared = declaredLength(req);
  // No body at all (no Content-Length, no chunked encoding): an empty artifact.
  const body = (req.body as Readable | undefined) ?? req.raw;
  try {
    const { artifact, created } = await service.put(body, { name: query.name, sha256: query.sha256, createdBy, declaredLength: declared, quota });
    await reply.status(created ? 201 : 200).send(artifact);
  } catch (e) {
    // The client may still be sending. Answering first makes clients stop mid-body and leaves
    // the connection in a state neither side can reuse (or resets it before the 4xx is read),
    // so the rest is read and dropped first.
    await discard(body, REFUSED_BODY_GRACE_MS);
    throw e;
  }
}

/** Streams the artifact's bytes with Content-Length and its sha as a strong ETag. */
export async function sendDownload(service: ArtifactService, sha256: string, req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const etag = `"${sha256}"`;
  if (req.headers['if-none-match'] === etag) {
    await service.meta(sha256);
    await reply.status(304).header('etag', etag).send();
    return;
  }
  const { artifact, stream } = await service.open(sha256);
  reply
    .header('content-type', 'application/octet-stream')
    .header('content-length', String(artifact.size))
    .header('etag', etag)
    .header('x-content-sha256', sha256)
    // Content never changes under a sha name.
    .header('cache-control', 'private, max-age=31536000, immutable');
  if (artifact.name) reply.header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(artifact.name)}`);
  await reply.send(stream);
}
