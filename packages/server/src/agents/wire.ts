import type { CommandSignature, DispatchedCommand, PushedConfig, ServerMessage, SigningKeySet, TaskFence } from '@steward/protocol';
import type { CommandSigner } from '../security/signing-key.js';
import type { CommandsTable } from '../store/schema.js';

/**
 * Every message the control plane sends an agent is built here, so the wire format has one
 * home and nothing outside `agents/` can send a hand-made message.
 */
export const wire = {
  welcome(nodeId: string, name: string, heartbeatIntervalMs: number, serverTime: number, signingKeys: SigningKeySet, restored?: { backupAt: number; restoredAt: number } | null, fence?: TaskFence): ServerMessage {
    return { type: 'welcome', nodeId, name, heartbeatIntervalMs, serverTime, signingKeys, ...(restored ? { restored } : {}), ...(fence ? { fence } : {}) };
  },
  /** The heartbeat was stored: the agent's task-fencing clock restarts from its sending (core/task-fence.ts). */
  heartbeatAck(seq: number): ServerMessage {
    return { type: 'heartbeat.ack', seq };
  },
  /** Signed for this node, now; null when the command is past its own deadline (the sweeper ends it). */
  dispatch(row: CommandsTable, signer: CommandSigner, now: number): ServerMessage | null {
    const command = dispatched(row);
    const signature = signer.signCommand(row.node_id, { id: row.id, type: row.type, payload: command.payload, state: row.state, expires_at: row.expires_at }, now);
    return signature ? { type: 'command.dispatch', command, signature } : null;
  },
  signingKeys(set: SigningKeySet): ServerMessage {
    return { type: 'signing.keys', ...set };
  },
  credentialRotate(credentialId: string, credential: string, signature: CommandSignature): ServerMessage {
    return { type: 'credential.rotate', credentialId, credential, signature };
  },
  cancel(commandId: string): ServerMessage {
    return { type: 'command.cancel', commandId };
  },
  /** Keystrokes for a running session; never logged (they may hold a password). */
  sessionInput(commandId: string, seq: number, data: string): ServerMessage {
    return { type: 'session.input', commandId, seq, data };
  },
  sessionResize(commandId: string, cols: number, rows: number): ServerMessage {
    return { type: 'session.resize', commandId, cols, rows };
  },
  resultAck(commandIds: string[]): ServerMessage {
    return { type: 'result.ack', commandIds };
  },
  outputAck(commandId: string, upTo: number): ServerMessage {
    return { type: 'output.ack', commandId, upTo };
  },
  config(heartbeatIntervalMs: number, fence?: TaskFence): ServerMessage {
    return { type: 'config', heartbeatIntervalMs, ...(fence ? { fence } : {}) };
  },
  /** The node's effective pushed config (`{}`: none); the agent answers `config.status`. */
  configDesired(revision: string, config: PushedConfig): ServerMessage {
    return { type: 'config.desired', revision, config };
  },
  error(code: string, message: string, details?: unknown): ServerMessage {
    return { type: 'error', code, message, details };
  },
};

/** The stored command as the agent receives it: the full payload (secrets included) travels only here. */
function dispatched(row: CommandsTable): DispatchedCommand {
  return { id: row.id, type: row.type, payload: JSON.parse(row.secret_payload ?? row.payload), timeoutMs: row.timeout_ms, createdAt: row.created_at };
}
