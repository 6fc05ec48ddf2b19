import { type AuditEntry, type AuditListQuery, type AuditVerifyReport } from '@steward/protocol';
import type { Context } from '../core/context.js';
import { REFUSED, type AuditRecord } from '../http/audit-hook.js';
import { auditChainPage, insertAuditRows, lastAuditLink, listAuditRows, lockAuditChain } from '../store/queries/audit.js';
import type { AuditLogTable } from '../store/schema.js';
import { fromJson } from '../store/rows.js';
import { auditRowHash, checkLink, GENESIS_HASH } from './chain.js';
import { FailureCoalescer } from './failures.js';

/** Records waiting to be appended; past this the oldest are dropped (and logged) rather than memory grown. */
const MAX_QUEUED = 10_000;
const VERIFY_PAGE = 1000;

export function auditEntryFromRow(r: AuditLogTable): AuditEntry {
  return {
    id: Number(r.id),
    at: Number(r.at),
    actorId: r.actor_id,
    actorName: r.actor_name,
    role: r.role,
    action: r.action,
    target: r.target,
    sourceIp: r.source_ip,
    userAgent: r.user_agent,
    status: Number(r.status),
    errorCode: r.error_code,
    summary: fromJson<Record<string, unknown>>(r.summary) ?? {},
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

/**
 * The hash-chained audit log. Records are queued and appended in order, several per
 * transaction, each under the chain's lock (an advisory lock on PostgreSQL, so replicas sharing
 * the database keep one linear chain).
 */
export class AuditService {
  private queue: AuditRecord[] = [];
  private flushing: Promise<void> | null = null;
  private readonly failures = new FailureCoalescer();

  constructor(private readonly ctx: Context) {}

  /** Takes a record for the log; returns at once (the request it describes has been answered). */
  record = (r: AuditRecord): void => {
    if (REFUSED.has(r.status)) {
      const admitted = this.failures.admit(`${r.sourceIp}|${r.status}|${r.actorId ?? ''}|${r.action}`, r.at);
      if (!admitted.write) return;
      if (admitted.notLogged > 0) r = { ...r, summary: { ...r.summary, notLogged: admitted.notLogged } };
    }
    if (this.queue.length >= MAX_QUEUED) {
      this.queue.shift();
      this.ctx.log.error('audit log: too many records waiting for the store; the oldest was dropped');
    }
    this.queue.push(r);
    this.flushing ??= this.drain();
  };

  /** Resolves once everything recorded so far is in the store. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length) {
        const batch = this.queue.splice(0, 200);
        try {
          await this.append(batch);
        } catch (err) {
          this.ctx.log.error({ err, lost: batch.length }, 'audit log: appending failed');
        }
      }
    } finally {
      this.flushing = null;
    }
  }

  /** Appends records in one transaction under the chain's lock. */
  async append(records: AuditRecord[]): Promise<void> {
    const store = this.ctx.store;
    await store.tx(async (db) => {
      await lockAuditChain(db, store.dialect);
      const last = await lastAuditLink(db);
      let id = last ? Number(last.id) : 0;
      let prev = last?.hash ?? GENESIS_HASH;
      const rows: AuditLogTable[] = records.map((r) => {
        const row: Omit<AuditLogTable, 'hash'> = {
          id: ++id,
          at: r.at,
          actor_id: r.actorId,
          actor_name: r.actorName,
          role: r.role,
          action: r.action,
          target: r.target,
          source_ip: r.sourceIp,
          user_agent: r.userAgent,
          status: r.status,
          error_code: r.errorCode,
          summary: JSON.stringify(r.summary),
          prev_hash: prev,
        };
        prev = auditRowHash(row);
        return { ...row, hash: prev };
      });
      await insertAuditRows(db, rows);
    });
  }

  async list(q: AuditListQuery): Promise<AuditEntry[]> {
    const action = q.action?.endsWith('*') ? q.action.slice(0, -1) : q.action;
    const rows = await listAuditRows(this.ctx.store.db, { since: q.since, actor: q.actor, action, target: q.target, before: q.before, limit: q.limit });
    return rows.map(auditEntryFromRow);
  }

  /** Walks the whole chain from its start; reports the first broken link. */
  async verify(): Promise<AuditVerifyReport> {
    await this.flush();
    let prev: { id: number; hash: string } | undefined;
    let checked = 0;
    for (;;) {
      const page = await auditChainPage(this.ctx.store.db, prev?.id ?? 0, VERIFY_PAGE);
      for (const row of page) {
        checked++;
        const broken = checkLink(prev, row);
        if (broken) return { ok: false, checked, head: null, broken };
        prev = { id: Number(row.id), hash: row.hash };
      }
      if (page.length < VERIFY_PAGE) break;
    }
    return { ok: true, checked, head: prev ?? null, broken: null };
  }
}
