import type { CommandResultMessage, CommandTypeInfo } from '@steward/protocol';

/** A command asked for on the inbound API. */
export interface InboundCommand {
  /** The caller's idempotency key. */
  requestId: string;
  /** Digest of type and payload: a retry has the same, a reuse of the id for another command not. */
  requestHash: string;
  type: string;
  payload: unknown;
  timeoutMs: number;
}

/** What the inbound API reads of the agent's journal entry for a command. */
export interface InboundEntry {
  id: string;
  type: string;
  state: 'running' | 'done';
  receivedAt: number;
  result: CommandResultMessage | null;
  requestId: string | null;
  requestHash: string | null;
}

/**
 * The agent's command pipeline as the inbound API sees it (the executor, its journal and its
 * module registry); defined here so this room does not import the agent's composition root.
 */
export interface InboundRunner {
  /** Journals and starts the command, or returns the entry its request id already made. */
  submit(cmd: InboundCommand): { entry: InboundEntry; created: boolean };
  /** The entry once its command ended, or as it is after `waitMs`. */
  settled(commandId: string, waitMs: number): Promise<InboundEntry | null>;
  find(requestId: string): InboundEntry | null;
  /** Checks type and payload against the module's schema; throws the error a 400 shows. */
  validate(type: string, payload: unknown): void;
  types(): CommandTypeInfo[];
}

/** The node status MediaStack controllers expect, in its heartbeat and on GET /api/v1/status. */
export interface MediastackStatus {
  cpu_load: number;
  disk_usage_percent: number;
  nginx_status: 'running' | 'stopped';
  pureftpd_status: 'running' | 'stopped';
}
