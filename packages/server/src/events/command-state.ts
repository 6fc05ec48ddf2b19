import type { CommandProgress, CommandState } from '@steward/protocol';
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

/** `command.progress`: how far a running command is, as its agent just reported. */
export function publishCommandProgress(ctx: Publisher, row: CommandBrief, progress: CommandProgress): void {
  ctx.bus.publish({ kind: 'command.progress', at: ctx.now(), commandId: row.id, nodeId: row.node_id, jobId: row.job_id, type: row.type, progress });
}
