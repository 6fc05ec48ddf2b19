import type { CommandResultMessage } from '@steward/protocol';
import type { Context } from '../core/context.js';
import type { AuditRecord } from '../http/audit-hook.js';
import { commandStatesOnNode } from '../store/queries/commands.js';

/** The audit action of a result for a command the store has never heard of. */
export const UNKNOWN_RESULT_ACTION = 'command.unknown_after_restore';

/**
 * A node's result for a command id this store does not know: the store was restored from a
 * backup taken before the command was accepted (or the row was removed). It cannot be stored as
 * the command's outcome (its type and payload are not known here), but it must not vanish
 * silently: it is logged and appended to the audit log with the node, the id and how it ended.
 * The result body itself is not copied there: without the command's schema its secrets can't be
 * told apart. The agent's journal still holds it.
 */
export async function reportIfUnknown(ctx: Context, audit: (r: AuditRecord) => void, nodeId: string, msg: CommandResultMessage): Promise<boolean> {
  if ((await commandStatesOnNode(ctx.store.db, nodeId, [msg.commandId])).length > 0) return false;
  const summary = { nodeId, state: msg.state, startedAt: msg.startedAt, finishedAt: msg.finishedAt, ...(msg.error ? { errorCode: msg.error.code } : {}) };
  ctx.log.warn({ ...summary, commandId: msg.commandId }, 'result for a command this store does not know (accepted after the backup it was restored from?); recorded in the audit log as command.unknown_after_restore');
  audit({
    at: ctx.now(),
    actorId: nodeId,
    actorName: null,
    role: 'node',
    action: UNKNOWN_RESULT_ACTION,
    target: msg.commandId,
    sourceIp: '-',
    userAgent: null,
    status: 0,
    errorCode: null,
    summary,
  });
  return true;
}
