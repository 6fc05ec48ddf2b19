import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ForbiddenError, SigningKeyList, SigningKeyRotate, SigningKeyRotation } from '@steward/protocol';
import type { AgentLink } from '../agents/link.js';
import type { Context } from '../core/context.js';
import type { Feature } from '../core/feature.js';
import { activeSigningKeys } from '../store/queries/signing-keys.js';

const DEFAULT_OVERLAP_S = 86_400;

/** The keys that sign commands to agents: list them, rotate to a new one (admin only). */
export function signingFeature(deps: { ctx: Context; link: Pick<AgentLink, 'rotateSigningKey'> }): Feature {
  return { name: 'signing', routes: (api) => signingRoutes(api, deps) };
}

function signingRoutes(app: FastifyInstance, deps: { ctx: Context; link: Pick<AgentLink, 'rotateSigningKey'> }): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['signing'];
  const adminOnly = async (req: { role?: string }) => {
    if (req.role !== 'admin') throw new ForbiddenError('only an admin token may rotate the command signing key');
  };
  r.get('/api/v1/signing-keys', { preHandler: adminOnly, schema: { tags, response: { 200: SigningKeyList } } }, async () => {
    const rows = await activeSigningKeys(deps.ctx.store.db, deps.ctx.now());
    const items = rows.map((k) => ({ id: k.id, publicKey: k.public_key, notAfter: k.not_after }));
    // The newest key never rotated out is the one rotations sign with.
    const current = [...items].reverse().find((k) => k.notAfter === null)?.id ?? '';
    return { items, current };
  });
  r.post('/api/v1/signing-keys/rotate', { preHandler: adminOnly, schema: { tags, body: SigningKeyRotate, response: { 200: SigningKeyRotation } } }, async (req) => {
    const rotated = await deps.link.rotateSigningKey((req.body?.overlapSeconds ?? DEFAULT_OVERLAP_S) * 1000);
    return { keyId: rotated.keyId, retiredKeyIds: rotated.retiredIds, notAfter: rotated.notAfter, announcedTo: rotated.announcedTo };
  });
}
