import type { Logger } from 'pino';
import {
  isStewardError,
  newId,
  redactWriteOnly,
  type CommandError,
  type CommandOutputMessage,
  type CommandProgress,
  type CommandResultMessage,
  type CommandResultState,
  type DispatchedCommand,
} from '@steward/protocol';
import type { AgentConfig } from './config.js';
import type { InboundCommand } from './inbound/types.js';
import type { CommandOrigin, Journal, JournalEntry } from './journal.js';
import type { ModuleRegistry } from './modules/registry.js';
import { AgentError } from './core/errors.js';
import { CommandOutput, DEFAULT_MAX_STREAM_BYTES, NO_OUTPUT } from './core/output.js';
import { ProgressThrottle } from './core/progress.js';
import { SessionInputs } from './core/session-input.js';
import { ServerLink } from './link/server-link.js';
import { HandedOver, HandlerFailure, type ModuleInstance } from './modules/types.js';

export interface ExecutorEvents {
  started(commandId: string): void;
  finished(result: CommandResultMessage): void;
  /** The started instance of a module, for handlers that talk to it. */
  module(name: string): ModuleInstance | undefined;
  emit(module: string, event: string, data: unknown): void;
  /** How far a running command is (already throttled); best effort. */
  progress(commandId: string, progress: CommandProgress): void;
  /** Output chunks, already journaled; best effort (resent from the journal after a reconnect). */
  output(msg: CommandOutputMessage): void;
  /** Resolves once the agent is welcomed (at once when it is); absent: an executor without a connection (tests). */
  welcomed?(): Promise<void>;
}

interface Running {
  controller: AbortController;
  promise: Promise<void>;
  /** The module whose handler runs it (undefined for a type no module defines). */
  module: string | undefined;
}

/**
 * Runs commands exactly once per id. The journal entry is written before the handler starts;
 * a repeat of an id that finished replays the stored result, one that is running is ignored,
 * and one that was running when a previous agent process died either runs again (its type is
 * safe to re-run) or ends `failed` with the reason.
 */
export class Executor {
  private readonly running = new Map<string, Running>();
  private accepting = true;
  /** Command types of modules being turned off or off, by type → module: refused with `module_disabled`. */
  private readonly disabled = new Map<string, string>();
  /** Input and window sizes for running interactive commands (shell sessions). */
  readonly sessions: SessionInputs;

  constructor(
    private readonly journal: Journal,
    private readonly registry: ModuleRegistry,
    private config: AgentConfig,
    private readonly log: Logger,
    private readonly events: ExecutorEvents,
    /** Handed to handlers as `ctx.link`; without one (an executor in tests) it is not enrolled. */
    private readonly link: ServerLink = new ServerLink(config.server, null),
  ) {
    this.sessions = new SessionInputs(log);
    // A module added or removed at run time may bring or take away secret payload fields.
    registry.onChange(() => (this.secretTypes = undefined));
  }

  /** A config applied live: commands started from now on see it as `ctx.config`. */
  setConfig(config: AgentConfig): void {
    this.config = config;
  }

  /** New commands of these types (a module being turned off) fail with `module_disabled`. */
  refuseTypes(module: string, types: string[]): void {
    for (const t of types) this.disabled.set(t, module);
  }

  /** A module turned on again: its types run again. */
  allowModule(module: string): void {
    for (const [t, m] of this.disabled) if (m === module) this.disabled.delete(t);
  }

  /**
   * Waits up to `graceMs` for the running commands of a module being turned off, then cancels
   * the rest and waits for them to end (their results are written before this resolves).
   */
  async drainModule(module: string, graceMs: number): Promise<void> {
    const mine = () => [...this.running.values()].filter((r) => r.module === module);
    const all = () => Promise.all(mine().map((r) => r.promise));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all(), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    for (const r of mine()) r.controller.abort(new CancelReason('cancelled', `module ${module} was turned off by a configuration change`));
    await all();
  }

  runningIds(): string[] {
    return [...this.running.keys()];
  }

  /** At start-up: settle what the previous process left running. */
  recoverInterrupted(): void {
    for (const entry of this.journal.interrupted()) {
      const def = this.registry.get(entry.type);
      const cmd: DispatchedCommand = { id: entry.id, type: entry.type, payload: entry.payload, timeoutMs: entry.timeoutMs, createdAt: entry.receivedAt };
      if (def?.resume) {
        // It asked for the restart itself (an agent upgrade): its `resume` says how it ended.
        this.log.info({ commandId: entry.id, type: entry.type }, 'resuming a command that spans an agent restart');
        this.start(cmd, entry.origin, true);
      } else if (def?.safeToRerun) {
        this.log.info({ commandId: entry.id, type: entry.type }, 're-running a command interrupted by an agent restart');
        this.start(cmd, entry.origin);
      } else {
        this.log.warn({ commandId: entry.id, type: entry.type }, 'a command was interrupted by an agent restart; not safe to re-run');
        const now = Date.now();
        this.complete(cmd.id, 'failed', now, now, {
          error: {
            code: 'interrupted',
            message: `the agent stopped while ${entry.type} was running; it is not safe to run again, so it was not`,
          },
        });
      }
    }
  }

  /** `signed`: the validity of the signature it was accepted under; the journal keeps the id that long. */
  dispatch(cmd: DispatchedCommand, signed?: { issuedAt: number; expiresAt: number }): void {
    const known = this.journal.get(cmd.id);
    if (known?.state === 'done') {
      // Already ran: answer with what it returned, never run twice.
      if (known.result) this.events.finished(known.result);
      return;
    }
    if (known?.state === 'running') {
      if (this.running.has(cmd.id)) this.events.started(cmd.id);
      return;
    }
    if (!this.accepting) return; // shutting down; the control plane delivers again later
    if (!this.journal.begin(cmd, Date.now(), signed)) return;
    this.start(cmd, 'control');
  }

  /**
   * Runs a command an inbound API caller asked for, through the same journal, validation and
   * handlers as a dispatched one. The request_id is its idempotency key: a known one is never
   * run again, the caller gets the entry it made (running or done).
   */
  submitInbound(req: InboundCommand): { entry: JournalEntry; created: boolean } {
    const known = this.journal.byRequestId(req.requestId);
    if (known) return { entry: known, created: false };
    if (!this.accepting) throw new AgentError('shutting_down', 'the agent is shutting down; try again when it is back');
    const now = Date.now();
    const cmd: DispatchedCommand = { id: newId('cmd'), type: req.type, payload: req.payload, timeoutMs: req.timeoutMs, createdAt: now };
    if (!this.journal.beginInbound(cmd, req.requestId, req.requestHash, now)) {
      return { entry: this.journal.byRequestId(req.requestId)!, created: false };
    }
    this.start(cmd, 'inbound');
    return { entry: this.journal.get(cmd.id)!, created: true };
  }

  /** The journal entry once the command ended, or as it is after `waitMs`. */
  async settled(commandId: string, waitMs: number): Promise<JournalEntry | null> {
    const run = this.running.get(commandId);
    if (run) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([run.promise, new Promise((r) => (timer = setTimeout(r, waitMs)))]);
      clearTimeout(timer);
    }
    return this.journal.get(commandId);
  }

  cancel(commandId: string): void {
    this.running.get(commandId)?.controller.abort(new CancelReason('cancelled', 'cancelled by the control plane'));
  }

  private start(cmd: DispatchedCommand, origin: CommandOrigin, resumed = false): void {
    const controller = new AbortController();
    const startedAt = Date.now();
    // The control plane learns of an inbound command from its report, once it ended.
    if (origin === 'control') this.events.started(cmd.id);
    const promise = this.execute(cmd, origin, controller, startedAt, resumed).finally(() => this.running.delete(cmd.id));
    this.running.set(cmd.id, { controller, promise, module: this.disabled.has(cmd.type) ? undefined : this.registry.moduleOf(cmd.type) });
  }

  private async execute(cmd: DispatchedCommand, origin: CommandOrigin, controller: AbortController, startedAt: number, resumed = false): Promise<void> {
    const off = this.disabled.get(cmd.type);
    if (off) {
      return this.complete(cmd.id, 'failed', startedAt, Date.now(), {
        error: { code: 'module_disabled', message: `module ${off} is turned off on this node by its configuration; ${cmd.type} did not run`, details: { module: off } },
      });
    }
    const def = this.registry.get(cmd.type);
    const config = this.config;
    const log = this.log.child({ commandId: cmd.id, type: cmd.type });
    if (!def) {
      return this.complete(cmd.id, 'failed', startedAt, Date.now(), {
        error: { code: 'unknown_command_type', message: `this agent has no handler for ${cmd.type}`, details: { known: this.registry.types().map((t) => t.type) } },
      });
    }
    const moduleName = this.registry.moduleOf(cmd.type)!;
    let payload: unknown;
    try {
      payload = this.registry.validatePayload(cmd.type, cmd.payload ?? {});
    } catch (e) {
      return this.complete(cmd.id, 'failed', startedAt, Date.now(), { error: toCommandError(e) });
    }
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const reason = new CancelReason('timed_out', `did not finish within ${cmd.timeoutMs} ms`);
        controller.abort(reason);
        reject(reason);
      }, cmd.timeoutMs);
    });
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
    });
    // The control plane learns of an inbound command only from its report, so its output is not streamed.
    const output =
      origin === 'control'
        ? new CommandOutput(cmd.id, this.journal, (m) => this.events.output(m), config.exec.maxStreamBytes ?? DEFAULT_MAX_STREAM_BYTES, log)
        : null;
    try {
      const run = resumed && def.resume ? def.resume : def.handler;
      const result = await Promise.race([
        run(payload as never, {
          commandId: cmd.id,
          signal: controller.signal,
          timeoutMs: cmd.timeoutMs,
          config,
          log,
          module: this.events.module(moduleName),
          link: this.link,
          emit: (event, data) => this.events.emit(moduleName, event, data),
          progress: new ProgressThrottle((p) => this.events.progress(cmd.id, p)).report,
          session: this.sessions.channel(cmd.id),
          output: output ?? NO_OUTPUT,
          welcomed: () => this.events.welcomed?.() ?? Promise.resolve(),
        }),
        timedOut,
        aborted,
      ]);
      // Output first: on the link a command's chunks always come before its result.
      output?.close();
      this.complete(cmd.id, 'succeeded', startedAt, Date.now(), { result });
    } catch (e) {
      output?.close();
      if (e instanceof HandedOver) {
        // Left `running` in the journal on purpose: the next agent process resumes it.
        log.info({ why: e.why }, 'command handed over to the next agent process');
      } else if (e instanceof CancelReason) {
        this.complete(cmd.id, e.state, startedAt, Date.now(), { error: { code: e.code, message: e.message } });
      } else if (e instanceof HandlerFailure) {
        this.complete(cmd.id, e.state, startedAt, Date.now(), {
          result: e.result,
          error: { code: e.code, message: e.message, ...(e.details === undefined ? {} : { details: e.details }) },
        });
      } else {
        if (!isStewardError(e) && !(e instanceof AgentError)) log.warn({ err: e }, 'command handler threw');
        this.complete(cmd.id, 'failed', startedAt, Date.now(), { error: toCommandError(e) });
      }
    } finally {
      clearTimeout(timer);
      this.sessions.end(cmd.id);
    }
  }

  private complete(
    commandId: string,
    state: CommandResultState,
    startedAt: number,
    finishedAt: number,
    body: { result?: unknown; error?: CommandError },
  ): void {
    const msg: CommandResultMessage = {
      type: 'command.result',
      commandId,
      state,
      ...(body.result === undefined ? {} : { result: body.result }),
      ...(body.error ? { error: body.error } : {}),
      startedAt,
      finishedAt,
    };
    // Into the outbox first: from here on the result survives a crash.
    this.journal.finish(msg, this.withoutSecrets(commandId));
    this.events.finished(msg);
  }

  /** Command types whose payload schema marks a part writeOnly (a password, a key). */
  private secretTypes: Set<string> | undefined;

  /** The journaled payload with its writeOnly parts redacted, when its type has any; else undefined. */
  private withoutSecrets(commandId: string): unknown {
    this.secretTypes ??= new Set(this.registry.types().filter((t) => JSON.stringify(t.payloadSchema).includes('"writeOnly":true')).map((t) => t.type));
    if (this.secretTypes.size === 0) return undefined; // no journal read on the hot path of agents without secrets
    const entry = this.journal.get(commandId);
    const def = entry && this.secretTypes.has(entry.type) ? this.registry.get(entry.type) : undefined;
    if (!entry || !def) return undefined;
    const r = redactWriteOnly(def.payload, entry.payload);
    return r.redacted ? r.value : undefined;
  }

  /** Stops taking commands, lets running ones finish for `graceMs`, then cancels the rest. */
  async drain(graceMs: number): Promise<void> {
    this.accepting = false;
    const all = () => Promise.all([...this.running.values()].map((r) => r.promise));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all(), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    for (const [id, r] of this.running) {
      // A command that spans restarts (an upgrade being confirmed) goes on in the next process.
      const resumable = this.registry.get(this.journal.get(id)?.type ?? '')?.resume !== undefined;
      r.controller.abort(resumable ? new HandedOver('the agent is shutting down') : new CancelReason('cancelled', 'the agent is shutting down'));
    }
    await all();
  }
}

/** Why a run was stopped from outside; its code is the state the command ends in. */
class CancelReason extends AgentError {
  constructor(
    readonly state: 'cancelled' | 'timed_out',
    message: string,
  ) {
    super(state, message);
  }
}

/** Agent and protocol errors keep their stable code; anything else is a handler bug. */
function toCommandError(e: unknown): CommandError {
  if (isStewardError(e) || e instanceof AgentError) {
    return e.details === undefined ? { code: e.code, message: e.message } : { code: e.code, message: e.message, details: e.details };
  }
  return { code: 'handler_error', message: e instanceof Error ? e.message : String(e) };
}
