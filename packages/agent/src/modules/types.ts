import type { Static, TSchema } from '@sinclair/typebox';
import type { Logger } from 'pino';
import type { AgentConfig } from '../config.js';

/** What a handler gets besides its payload. */
export interface CommandContext {
  commandId: string;
  /** Aborted on cancel or timeout; handlers pass it on to child processes and I/O. */
  signal: AbortSignal;
  /** Milliseconds the command may run; the executor enforces it too. */
  timeoutMs: number;
  config: AgentConfig;
  log: Logger;
}

export interface CommandDefinition<S extends TSchema = TSchema, R = unknown> {
  /** Full type name, `module.verb` (e.g. `fs.mkdir`). */
  type: string;
  description: string;
  payload: S;
  /**
   * True when running it again after an agent crash mid-run cannot do harm
   * (reads, idempotent writes). A crashed unsafe command ends `failed` instead.
   */
  safeToRerun: boolean;
  handler: (payload: Static<S>, ctx: CommandContext) => Promise<R>;
}

export interface AgentModule {
  name: string;
  description: string;
  commands: CommandDefinition[];
}

/** Keeps the payload type attached to the handler without a cast at each call site. */
export function defineCommand<S extends TSchema, R>(def: CommandDefinition<S, R>): CommandDefinition {
  return def as unknown as CommandDefinition;
}

export function defineModule(mod: AgentModule): AgentModule {
  return mod;
}

/**
 * Thrown by a handler to end its command `failed` (or `timed_out`) while still
 * returning a result, e.g. `exec.run` with a non-zero exit keeps its stdout/stderr.
 */
export class HandlerFailure extends Error {
  readonly code: string;
  readonly result: unknown;
  readonly state: 'failed' | 'timed_out';
  readonly details: unknown;

  constructor(code: string, message: string, opts: { result?: unknown; state?: 'failed' | 'timed_out'; details?: unknown } = {}) {
    super(message);
    this.name = 'HandlerFailure';
    this.code = code;
    this.result = opts.result ?? null;
    this.state = opts.state ?? 'failed';
    this.details = opts.details;
  }
}
