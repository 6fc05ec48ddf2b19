import type { EnrollmentToken, Labels } from '@steward/protocol';
import { fromJson } from '../store/rows.js';
import type { EnrollmentTokensTable } from '../store/schema.js';

export function enrollmentTokenFromRow(r: EnrollmentTokensTable, now: number): EnrollmentToken {
  return {
    id: r.id,
    expiresAt: r.expires_at,
    usesAllowed: r.uses_allowed,
    usesLeft: Math.max(0, r.uses_allowed - r.uses),
    labels: fromJson<Labels>(r.labels) ?? {},
    note: r.note,
    createdAt: r.created_at,
    expired: r.expires_at <= now,
  };
}
