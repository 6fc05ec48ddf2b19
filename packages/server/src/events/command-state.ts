import type { CommandState } from '@steward/protocol';
import type { CommandBrief } from '../store/queries/commands.js';
import type { Publisher } from './publisher.js';

/** `command.state`: every transition of a command, from whichever room made it. */
export function publishCommandState(ctx: Publisher, row: CommandBrief): void {
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
