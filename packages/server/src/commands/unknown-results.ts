import type { CommandResultMessage } from '@steward/protocol';
import type { Context } from '../core/context.js';
import type { AuditRecord } from '../http/audit-hook.js';
import { listAuditRows } from '../store/queries/audit.js';
import { commandStatesOnNode } from '../store/queries/commands.js';

/** The audit action of a command id a node knows and this store does not. */
export const UNKNOWN_RESULT_ACTION = 'command.unknown_after_restore';

type Audit = (r: AuditRecord) => void;

/**
 * Command ids a node knows and this store does not: the store was restored from a backup taken
 * before the command was accepted. Such a command cannot be stored as an outcome (its type and
 * payload are not known here), but it must not vanish silently: it is logged and appended to the
 * audit log once, with the node, the id and (from a result) how it ended. A result's body is not
 * copied there: without the command's schema its secrets can't be told apart. The agent's journal
 * still holds it.
 */
export class UnknownCommandReporter {
  /** Reported by this process: the audit log is appended asynchronously, so a result right behind its id would not find the entry yet. */
  private readonly reported = new Set<string>();

  constructor(
    private readonly ctx: Context,
    private readonly audit: Audit,
  ) {}

  /** A result for an id the store lacks. */
  async result(nodeId: string, msg: CommandResultMessage): Promise<void> {
    if ((await commandStatesOnNode(this.ctx.store.db, nodeId, [msg.commandId])).length > 0) return;
    await this.report(nodeId, msg.commandId, { state: msg.state, startedAt: msg.startedAt, finishedAt: msg.finishedAt, ...(msg.error ? { errorCode: msg.error.code } : {}) });
  }

  /** Ids a node received between the backup and the restore (`command.recent`). */
  async ids(nodeId: string, ids: string[]): Promise<void> {
    const known = new Set((await commandStatesOnNode(this.ctx.store.db, nodeId, ids)).map((r) => r.id));
    for (const id of ids) if (!known.has(id)) await this.report(nodeId, id, { state: null });
  }

  private async report(nodeId: string, commandId: string, facts: Record<string, unknown>): Promise<void> {
    // Once per command: an agent says it again on every reconnect, and its result may follow its id.
    if (this.reported.has(commandId)) return;
    if ((await listAuditRows(this.ctx.store.db, { action: UNKNOWN_RESULT_ACTION, target: commandId, limit: 1 })).length > 0) return;
    if (this.reported.size >= 10_000) this.reported.clear();
    this.reported.add(commandId);
    const summary = { nodeId, ...facts };
    this.ctx.log.warn({ ...summary, commandId }, 'a command this store does not know (accepted after the backup it was restored from?); recorded in the audit log as command.unknown_after_restore');
    this.audit({
      at: this.ctx.now(),
      actorId: nodeId,
      actorName: null,
      role: 'node',
      action: UNKNOWN_RESULT_ACTION,
      target: commandId,
      sourceIp: '-',
      userAgent: null,
      status: 0,
      errorCode: null,
      summary,
    });
  }
}
