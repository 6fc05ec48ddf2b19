import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AuditEntry, AuditListQuery, AuditVerifyReport, ForbiddenError, listOf } from '@steward/protocol';
import { iso, sendListing, type Column } from '../http/listing.js';
import type { AuditService } from './service.js';

const AUDIT_COLUMNS: Column<AuditEntry>[] = [
  { header: 'id', value: (e) => String(e.id) },
  { header: 'at', value: (e) => iso(e.at) },
  { header: 'actor', value: (e) => e.actorName ?? '' },
  { header: 'role', value: (e) => e.role ?? '' },
  { header: 'action', value: (e) => e.action },
  { header: 'target', value: (e) => e.target ?? '' },
  { header: 'status', value: (e) => String(e.status) },
  { header: 'error', value: (e) => e.errorCode ?? '' },
  { header: 'source', value: (e) => e.sourceIp },
];

export function auditRoutes(app: FastifyInstance, audit: AuditService): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['audit'];
  // Who did what is for those who may act; a reader token need not see other tokens' names and sources.
  const operators = async (req: { role?: string }) => {
    if (req.role !== 'admin' && req.role !== 'operator') throw new ForbiddenError('only admin and operator tokens may read the audit log');
  };
  r.get('/api/v1/audit', { preHandler: operators, schema: { tags, querystring: AuditListQuery, response: { 200: listOf(AuditEntry) } } }, async (req, reply) => {
    await audit.flush();
    const items = await audit.list(req.query);
    if (sendListing(req, reply, AUDIT_COLUMNS, items)) return reply;
    return { items };
  });
  r.get('/api/v1/audit/verify', { preHandler: operators, schema: { tags, response: { 200: AuditVerifyReport } } }, async () => audit.verify());
}
