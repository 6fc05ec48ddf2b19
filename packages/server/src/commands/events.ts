import type { CommandState } from '@steward/protocol';
import type { Context } from '../context.js';
import type { CommandBrief } from '../store/queries/commands.js';

export function publishCommandState(ctx: Context, row: CommandBrief): void {
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
