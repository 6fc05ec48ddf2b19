import type { CommandSignature, DispatchedCommand, PushedConfig, ServerMessage, SigningKeySet, TaskFence } from '@steward/protocol';
import { payloadDigest } from '@steward/protocol/node';
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
    const { payload, digest } = row.secret_payload === null ? payloadOf(row.payload) : parsed(row.secret_payload);
    const command: DispatchedCommand = { id: row.id, type: row.type, payload, timeoutMs: row.timeout_ms, createdAt: row.created_at };
    const signature = signer.signCommand(row.node_id, { id: row.id, type: row.type, payload, payloadSha256: digest, state: row.state, expires_at: row.expires_at }, now);
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

/**
 * A stored payload text parsed and digested once: the commands of a fan-out carry one payload,
 * sent (and signed) to every node. The parsed value is only serialized into messages, never
 * changed. Bounded: emptied when full. A payload with secrets is not kept (parsed each time):
 * its full text lives only in its row until the command ends.
 */
const payloads = new Map<string, { payload: unknown; digest: string }>();
const PAYLOADS_MAX = 64;

function payloadOf(text: string): { payload: unknown; digest: string } {
  let p = payloads.get(text);
  if (!p) {
    p = parsed(text);
    if (payloads.size >= PAYLOADS_MAX) payloads.clear();
    payloads.set(text, p);
  }
  return p;
}

/** The full payload (secrets included) travels only in a dispatch. */
function parsed(text: string): { payload: unknown; digest: string } {
  const payload: unknown = JSON.parse(text);
  return { payload, digest: payloadDigest(payload) };
}
