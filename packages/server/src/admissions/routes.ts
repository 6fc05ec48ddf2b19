import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { Admission, AdmissionApprove, AdmissionListQuery, listOf } from '@steward/protocol';
import type { AdmissionService } from './service.js';

/** An admission's id, or the device's own id (sender_id, agentsn) when only one device has it. */
const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 256 }) });

export function admissionRoutes(app: FastifyInstance, admissions: AdmissionService): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['admissions'];
  const by = (req: { tokenName?: string }) => `token:${req.tokenName ?? 'unknown'}`;
  r.get('/api/v1/admissions', { schema: { tags, querystring: AdmissionListQuery, response: { 200: listOf(Admission) } } }, async (req) => ({
    items: await admissions.list(req.query.state),
  }));
  r.post('/api/v1/admissions/:id/approve', { schema: { tags, params: Params, body: Type.Optional(AdmissionApprove), response: { 200: Admission } } }, async (req) =>
    admissions.approve(req.params.id, req.body ?? {}, by(req)),
  );
  r.post('/api/v1/admissions/:id/reject', { schema: { tags, params: Params, response: { 200: Admission } } }, async (req) =>
    admissions.reject(req.params.id, by(req)),
  );
}
