import type { Context } from '../core/context.js';
import { expireDue, timeOutDue } from '../store/queries/commands.js';
import type { CommandService } from './service.js';

/** Ends what would otherwise wait forever: pending past TTL, running past timeout. */
export async function sweepCommands(ctx: Context, commands: CommandService): Promise<number> {
  const now = ctx.now();
  const expired = await expireDue(ctx.store.db, now);
  const timedOut = await timeOutDue(ctx.store.db, now, ctx.settings.timeoutGraceMs);
  for (const row of [...expired, ...timedOut]) {
    commands.ended(row);
    // The agent may still hold it; tell it to stop rather than finish work nobody waits for.
    commands.stopOnNode(row.node_id, row.id);
  }
  return expired.length + timedOut.length;
}
