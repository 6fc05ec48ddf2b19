import { Type, type Static } from '@sinclair/typebox';
import { Nullable, Timestamp } from './common.js';
import { ListingFormatQuery } from './listing.js';

/**
 * One operator action as the audit log keeps it. Rows are hash-chained: `hash` is SHA-256 over
 * the canonical JSON of the other fields and `prevHash`, so a deleted or edited row breaks the
 * chain at that point (`GET /api/v1/audit/verify`).
 */
export const AuditEntry = Type.Object(
  {
    id: Type.Integer({ minimum: 1, description: 'position in the chain, 1, 2, 3… without gaps' }),
    at: Timestamp,
    actorId: Nullable(Type.String({ description: 'API token id; null when the request carried no recognised token' })),
    actorName: Nullable(Type.String()),
    role: Nullable(Type.String()),
    action: Type.String({ description: 'e.g. jobs.create, commands.approve, auth.failed' }),
    target: Nullable(Type.String({ description: 'id(s) of what it acted on' })),
    sourceIp: Type.String(),
    userAgent: Nullable(Type.String()),
    status: Type.Integer({ description: 'HTTP status of the answer' }),
    errorCode: Nullable(Type.String()),
    summary: Type.Record(Type.String(), Type.Unknown(), { description: 'a few safe fields of the request (type, selector, name); never a payload' }),
    prevHash: Type.String(),
    hash: Type.String(),
  },
  { description: 'one entry of the hash-chained audit log' },
);
export type AuditEntry = Static<typeof AuditEntry>;

export const AuditListQuery = Type.Object({
  since: Type.Optional(Type.Integer({ minimum: 0, description: 'only entries at or after this time (ms since the epoch)' })),
  actor: Type.Optional(Type.String({ maxLength: 200, description: 'token id or name' })),
  action: Type.Optional(Type.String({ maxLength: 100, description: 'exact action, or a prefix ending in `.` / `*` (jobs.*)' })),
  target: Type.Optional(Type.String({ maxLength: 200, description: 'entries whose target contains this id' })),
  before: Type.Optional(Type.Integer({ minimum: 1, description: 'page: entries with a smaller id (pass the last id of the previous page)' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 500 })),
  ...ListingFormatQuery,
});
export type AuditListQuery = Static<typeof AuditListQuery>;

export const AuditVerifyReport = Type.Object({
  ok: Type.Boolean(),
  checked: Type.Integer({ description: 'rows walked' }),
  head: Nullable(Type.Object({ id: Type.Integer(), hash: Type.String() }, { description: 'the last row; record it elsewhere to detect a cut tail later' })),
  broken: Nullable(
    Type.Object({
      id: Type.Integer({ description: 'the first row whose link does not hold' }),
      reason: Type.String({ description: 'gap (a row is missing), prev_hash (the link to the row before differs) or hash (the row was edited)' }),
      expected: Type.String(),
      found: Type.String(),
    }),
  ),
});
export type AuditVerifyReport = Static<typeof AuditVerifyReport>;
