import type { Static, TSchema } from '@sinclair/typebox';
import type { Logger } from 'pino';
import type { AgentConfig } from '../core/config-schema.js';
import type { OutputSink } from '../core/output.js';
import type { ProgressSink } from '../core/progress.js';
import type { SessionChannel } from '../core/session-input.js';
import type { ServerLink } from '../link/server-link.js';

/** What a handler gets besides its payload. */
export interface CommandContext {
  commandId: string;
  /** Aborted on cancel or timeout; handlers pass it on to child processes and I/O. */
  signal: AbortSignal;
  /** Milliseconds the command may run; the executor enforces it too. */
  timeoutMs: number;
  config: AgentConfig;
  log: Logger;
  /** What the command's module returned from `start`, when it has one (a supervisor, a scheduler…). */
  module: ModuleInstance | undefined;
  /** The node's authenticated HTTP link to the control plane (identity, artifact transfers). */
  link: ServerLink;
  /** Sends a `module.event` for the command's module (best effort; only while connected). */
  emit(event: string, data: unknown): void;
  /**
   * Says how far the command is (`command.progress`, kept on the command and shown by clients).
   * Call as often as convenient: it is throttled, keeping phase changes and each phase's end.
   */
  progress: ProgressSink;
  /** Interactive commands attach here to receive the operator's input and window size while they run. */
  session: SessionChannel;
  /**
   * The command's streamed output (`command.output`): journaled, sent while it runs, resent
   * after a reconnect, flushed before the result. Write as data comes; it is coalesced.
   */
  output: OutputSink;
  /**
   * Resolves once the agent is welcomed by the control plane (at once when it is now). For a
   * command that must know the node is reachable before it reports (an agent upgrade).
   */
  welcomed(): Promise<void>;
}

/** What a module's `start` gets: its own settings and a way to talk to the control plane. */
export interface ModuleRuntime {
  name: string;
  config: AgentConfig;
  /** The module's section of the agent config (YAML key = module name), validated, defaults applied. */
  settings: unknown;
  /** A directory of the module's own under the agent's data dir (created). */
  dataDir: string;
  log: Logger;
  /** The node's authenticated HTTP link to the control plane (identity, artifact transfers). */
  link: ServerLink;
  /** Sends a `module.event` (best effort; only while connected). Put durable state in `report`. */
  emit(event: string, data: unknown): void;
}

/** A started module: a background part that lives as long as the agent. */
export interface ModuleInstance {
  /** Current state for the control plane, sent with every hello and heartbeat. */
  report?(): unknown;
  /** Called when the agent stops, after running commands drained. */
  stop(): Promise<void>;
  /**
   * New settings while the agent runs (a pushed config changed the module's section). Optional:
   * without it the module is stopped and started again. Throwing refuses the new settings; the
   * instance must then still run with its old ones.
   */
  reconfigure?(settings: unknown): Promise<void>;
  /**
   * The control plane has not acknowledged this agent for the fence time (link/fence.ts): stop
   * what it may place elsewhere (SIGTERM, SIGKILL after at most `killGraceMs`). Called again
   * while that lasts; returns how many were newly stopped.
   */
  fence?(killGraceMs: number, why: string): number;
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
  /**
   * For a command that spans an agent restart on purpose (an agent upgrade): called at start-up,
   * instead of failing or re-running it, when the previous process left it running. Its outcome
   * is the command's result, as the handler's would be.
   */
  resume?: (payload: Static<S>, ctx: CommandContext) => Promise<R>;
}

/**
 * Thrown by a handler whose command goes on in the next agent process (it asked for a restart):
 * the command's journal entry stays `running`, so the next process calls its `resume`.
 */
export class HandedOver extends Error {
  constructor(readonly why: string) {
    super(why);
    this.name = 'HandedOver';
  }
}

export interface AgentModule {
  name: string;
  description: string;
  commands: CommandDefinition[];
  /**
   * Schema of the module's config section (the YAML key is the module's name). Defaults in the
   * schema are applied; a bad section stops the agent at start with the field named.
   */
  settings?: TSchema;
  /** Starts the module's background part (monitor loop, supervisor…), if it has one. */
  start?(rt: ModuleRuntime): Promise<ModuleInstance>;
}

/** Keeps the payload type attached to the handler without a cast at each call site. */
export function defineCommand<S extends TSchema, R>(def: CommandDefinition<S, R>): CommandDefinition {
  return def as unknown as CommandDefinition;
}

export function defineModule(mod: AgentModule): AgentModule {
  return mod;
}

export { HandlerFailure } from '../core/errors.js';
