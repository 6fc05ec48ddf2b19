import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ServerCa } from '@steward/protocol';
import type { Feature } from '../core/feature.js';
import type { ServerTls } from './server-tls.js';

/** `GET /api/v1/server/ca`: the CA and its pin, for enrollment lines (CLI, dashboard) and operators. */
export function pkiFeature(deps: { tls: ServerTls | null }): Feature {
  const tls = deps.tls;
  const answer: ServerCa = { tls: tls !== null, pem: tls?.caPem ?? null, sha256: tls?.pin ?? null, requireClientCert: tls?.requireClientCert ?? false };
  return {
    name: 'pki',
    routes: (api) => {
      api.withTypeProvider<TypeBoxTypeProvider>().get('/api/v1/server/ca', { schema: { tags: ['enrollment'], response: { 200: ServerCa } } }, async () => answer);
    },
  };
}
