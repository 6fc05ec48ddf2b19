import { createHash } from 'node:crypto';
import { canonicalJson } from '../core/canonical-json.js';
import type { AuditLogTable } from '../store/schema.js';

/** The previous hash of the first row. */
export const GENESIS_HASH = '0'.repeat(64);

/** SHA-256 over the canonical JSON of every field of the row but its own hash (prev_hash included). */
export function auditRowHash(row: Omit<AuditLogTable, 'hash'>): string {
  const fields = {
    id: Number(row.id),
    at: Number(row.at),
    actorId: row.actor_id,
    actorName: row.actor_name,
    role: row.role,
    action: row.action,
    target: row.target,
    sourceIp: row.source_ip,
    userAgent: row.user_agent,
    status: Number(row.status),
    errorCode: row.error_code,
    summary: row.summary,
    prevHash: row.prev_hash,
  };
  return createHash('sha256').update(canonicalJson(fields)).digest('hex');
}

export interface ChainBreak {
  id: number;
  reason: 'gap' | 'prev_hash' | 'hash';
  expected: string;
  found: string;
}

/**
 * Checks one row against the link before it (`prev` undefined: the chain's start). A missing
 * row shows as a gap in ids and as a prev_hash that is not the previous row's hash; an edited
 * row as a hash that no longer matches its fields.
 */
export function checkLink(prev: { id: number; hash: string } | undefined, row: AuditLogTable): ChainBreak | null {
  const id = Number(row.id);
  const expectedId = prev ? prev.id + 1 : 1;
  if (id !== expectedId) return { id, reason: 'gap', expected: `id ${expectedId}`, found: `id ${id}` };
  const expectedPrev = prev?.hash ?? GENESIS_HASH;
  if (row.prev_hash !== expectedPrev) return { id, reason: 'prev_hash', expected: expectedPrev, found: row.prev_hash };
  const hash = auditRowHash(row);
  if (row.hash !== hash) return { id, reason: 'hash', expected: hash, found: row.hash };
  return null;
}
