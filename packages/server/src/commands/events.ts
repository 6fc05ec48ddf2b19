import type { CommandState } from '@steward/protocol';
import type { Context } from '../context.js';
import type { CommandsTable } from '../store/schema.js';

export function publishCommandState(ctx: Context, row: CommandsTable): void {
  ctx.bus.publish({
    kind: 'command.state',
    at: ctx.now(),
    commandId: row.id,
    nodeId: row.node_id,
    jobId: row.job_id,
    type: row.type,
    state: row.state as CommandState,
  });
}
