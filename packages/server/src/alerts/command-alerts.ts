import type { CommandError, StewardEvent } from '@steward/protocol';
import type { Context } from '../core/context.js';
import { fromJson } from '../store/rows.js';
import { getCommandRow } from '../store/queries/commands.js';
import { getNodeRow } from '../store/queries/nodes.js';
import type { AlertService } from './service.js';
import { matchesTypePattern } from './settings.js';

const FAILED = new Set(['failed', 'timed_out', 'expired']);

export function commandFailureKey(nodeId: string, type: string): string {
  return `command:${nodeId}:${type}`;
}

/**
 * Alerts for failed commands of the types the operator asked for (STEWARD_ALERT_FAILED_COMMANDS).
 * One alert per node and command type: further failures count on it, and the next success of
 * that type on that node resolves it. Only events this replica published are handled, so a
 * failure raises one alert however many replicas share the database.
 */
export class CommandFailureAlerts {
  constructor(
    private readonly ctx: Context,
    private readonly alerts: AlertService,
    private readonly patterns: string[],
  ) {}

  subscribe(): () => void {
    if (this.patterns.length === 0) return () => {};
    return this.ctx.bus.subscribeOriginated((e) => {
      void this.handle(e).catch((err) => this.ctx.log.error({ err }, 'command failure alert failed'));
    });
  }

  async handle(e: StewardEvent): Promise<void> {
    if (e.kind !== 'command.state' || !matchesTypePattern(this.patterns, e.type)) return;
    const key = commandFailureKey(e.nodeId, e.type);
    if (e.state === 'succeeded') {
      await this.alerts.resolveKey(key, `command ${e.commandId} (${e.type}) succeeded`);
      return;
    }
    if (!FAILED.has(e.state)) return;
    const [row, node] = await Promise.all([getCommandRow(this.ctx.store.db, e.commandId), getNodeRow(this.ctx.store.db, e.nodeId)]);
    const error = fromJson<CommandError>(row?.error ?? null);
    await this.alerts.fire({
      key,
      source: 'command',
      nodeId: e.nodeId,
      severity: 'warning',
      summary: `${e.type} ${e.state.replace('_', ' ')} on ${node?.name ?? e.nodeId}${error ? `: ${error.message}` : ''}`,
      details: { commandId: e.commandId, jobId: e.jobId, state: e.state, error },
    });
  }
}
