import { createHash, X509Certificate } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ServerCa } from '@steward/protocol';
import type { Feature } from '../core/feature.js';
import type { ServerTls } from './server-tls.js';

/** `GET /api/v1/server/ca`: the CA and its pin, the server key's pin, for enrollment and install lines (CLI, dashboard) and operators. */
export function pkiFeature(deps: { tls: ServerTls | null }): Feature {
  const tls = deps.tls;
  const answer: ServerCa = {
    tls: tls !== null,
    pem: tls?.caPem ?? null,
    sha256: tls?.pin ?? null,
    requireClientCert: tls?.requireClientCert ?? false,
    serverKeySha256: tls ? serverKeyPin(tls.https.cert) : null,
  };
  return {
    name: 'pki',
    routes: (api) => {
      api.withTypeProvider<TypeBoxTypeProvider>().get('/api/v1/server/ca', { schema: { tags: ['enrollment'], response: { 200: ServerCa } } }, async () => answer);
    },
  };
}

/** `curl --pinnedpubkey` form of the server certificate's key: base64 SHA-256 of its DER SubjectPublicKeyInfo. */
function serverKeyPin(chainPem: string): string {
  const spki = new X509Certificate(chainPem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}
