import type { DispatchedCommand, ServerMessage } from '@steward/protocol';
import type { CommandsTable } from '../store/schema.js';

/**
 * Every message the control plane sends an agent is built here, so the wire format has one
 * home and nothing outside `agents/` can send a hand-made message.
 */
export const wire = {
  welcome(nodeId: string, name: string, heartbeatIntervalMs: number, serverTime: number): ServerMessage {
    return { type: 'welcome', nodeId, name, heartbeatIntervalMs, serverTime };
  },
  dispatch(row: CommandsTable): ServerMessage {
    return { type: 'command.dispatch', command: dispatched(row) };
  },
  cancel(commandId: string): ServerMessage {
    return { type: 'command.cancel', commandId };
  },
  resultAck(commandIds: string[]): ServerMessage {
    return { type: 'result.ack', commandIds };
  },
  config(heartbeatIntervalMs: number): ServerMessage {
    return { type: 'config', heartbeatIntervalMs };
  },
  error(code: string, message: string, details?: unknown): ServerMessage {
    return { type: 'error', code, message, details };
  },
};

/** The stored command as the agent receives it: the full payload (secrets included) travels only here. */
function dispatched(row: CommandsTable): DispatchedCommand {
  return { id: row.id, type: row.type, payload: JSON.parse(row.secret_payload ?? row.payload), timeoutMs: row.timeout_ms, createdAt: row.created_at };
}
