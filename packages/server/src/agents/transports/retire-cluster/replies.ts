import { newId, RETIRE_CLUSTER_MAX_REPLY_BYTES } from '@steward/protocol';

/** The `sender_id` of every reply: Retire-Cluster's main node calls itself `main_server`. */
export const GATEWAY_SENDER_ID = 'steward';

export type ReplyKind = 'ack' | 'error' | 'task_assign';

/** One reply in Retire-Cluster's envelope (the worker reads `message_type` and `data`). */
export interface RetireClusterReply {
  message_type: ReplyKind;
  sender_id: string;
  receiver_id: string | null;
  message_id: string;
  timestamp: string;
  /** The design document's name for the receiver, on `task_assign`. */
  target_id?: string;
  data: Record<string, unknown>;
}

function envelope(kind: ReplyKind, receiver: string | null, data: Record<string, unknown>, extra: { target_id?: string } = {}): RetireClusterReply {
  return { message_type: kind, sender_id: GATEWAY_SENDER_ID, receiver_id: receiver, ...extra, message_id: newId('rc'), timestamp: new Date().toISOString(), data };
}

/** `ack` with `data.result` (the worker checks `result.success`). */
export function ackReply(to: { sender_id?: string | null; message_id?: string | null } | null, result: Record<string, unknown>): RetireClusterReply {
  return envelope('ack', to?.sender_id ?? null, { original_message_id: to?.message_id ?? null, result });
}

/** `error` with `data.error` (the worker logs it and, for a register, gives up). */
export function errorReply(to: { sender_id?: string | null; message_id?: string | null } | null, error: string): RetireClusterReply {
  return envelope('error', to?.sender_id ?? null, { error, ...(to?.message_id ? { original_message_id: to.message_id } : {}) });
}

/** `task_assign` for a `task_request`: the design document's shape (`target_id` too). */
export function taskAssignReply(to: { sender_id: string; message_id?: string | null }, task: Record<string, unknown>): RetireClusterReply {
  return envelope('task_assign', to.sender_id, { original_message_id: to.message_id ?? null, task }, { target_id: to.sender_id });
}

/** The reply's bytes, or null when it would not fit the worker's one 8 KiB read. */
export function encodeReply(reply: RetireClusterReply): Buffer | null {
  const bytes = Buffer.from(JSON.stringify(reply), 'utf8');
  return bytes.length <= RETIRE_CLUSTER_MAX_REPLY_BYTES ? bytes : null;
}
