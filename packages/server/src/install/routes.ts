import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AgentPackages, BinaryBody, NotFoundError, Type } from '@steward/protocol';
import type { ArtifactService } from '../artifacts/service.js';
import { sendDownload } from '../artifacts/transfer.js';
import { AgentPackageUnavailableError } from './errors.js';
import { REPO_DIR, type AgentPackagePublisher } from './publisher.js';

/** The line of scripts/install.sh the served copy fills in with the URL it was fetched from. */
const SERVER_LINE = "DEFAULT_SERVER=''";
/** Only a plain origin is written into the script: anything else in a Host header is ignored. */
const ORIGIN = /^https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^https?:\/\/\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$/;

function originOf(req: FastifyRequest): string | null {
  const origin = `${req.protocol}://${req.host}`;
  return ORIGIN.test(origin) ? origin : null;
}

/**
 * The public install routes: the script, the package index and the packages. They hold no secret
 * (the enrollment token is on the operator's command line, never in what is served here), so
 * they need no credential: a machine with nothing on it yet can fetch them.
 */
export function installRoutes(app: FastifyInstance, publisher: AgentPackagePublisher, artifacts: ArtifactService, caPem: string | null): void {
  const tags = ['install'];
  let script: string | null = null;
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.get('/install.sh', { schema: { tags, summary: 'The agent install script (POSIX sh; see docs/install.md)', produces: ['text/x-shellscript'] } }, async (req, reply) => {
    script ??= readFileSync(join(REPO_DIR, 'scripts', 'install.sh'), 'utf8');
    const origin = originOf(req);
    const body = origin ? script.replace(SERVER_LINE, `DEFAULT_SERVER='${origin}'`) : script;
    return reply.header('content-type', 'text/x-shellscript; charset=utf-8').header('cache-control', 'no-store').send(body);
  });
  r.get('/install/package.json', { schema: { tags, summary: 'The agent package this control plane installs, per arch', response: { 200: AgentPackages } } }, async (_req, reply) => {
    const now = publisher.current();
    if (!now.ok) throw new AgentPackageUnavailableError(now.why, now.off);
    return reply.header('cache-control', 'no-store').send(now.packages);
  });
  r.get('/install/ca.pem', { schema: { tags, summary: "The control plane's CA certificate (check it against the pin before trusting it)", produces: ['application/x-pem-file'] } }, async (_req, reply) => {
    if (!caPem) throw new NotFoundError('CA certificate', 'ca.pem');
    return reply.header('content-type', 'application/x-pem-file').send(caPem);
  });
  r.get(
    '/install/:file',
    { schema: { tags, summary: 'An agent package (tar.gz)', produces: ['application/octet-stream'], params: Type.Object({ file: Type.String({ maxLength: 200 }) }), response: { 200: BinaryBody } } },
    async (req, reply) => {
      const sha256 = publisher.shaOf(req.params.file);
      if (!sha256) throw new NotFoundError('agent package', req.params.file);
      return sendDownload(artifacts, sha256, req, reply);
    },
  );
}
