import {
  ConflictError,
  DEFAULT_COMMAND_TIMEOUT_MS,
  DEFAULT_COMMAND_TTL_MS,
  InvalidStateError,
  isTerminalCommandState,
  newId,
  NotFoundError,
  redactWriteOnly,
  REDACTED,
  secretStrings,
  type Command,
  type CommandCreate,
  type CommandListQuery,
  type CommandOutputMessage,
  type CommandProgress,
  type CommandReportedMessage,
  type CommandResultMessage,
  type CommandState,
  type CommandTypeInfo,
} from '@steward/protocol';
import { builtinPayload } from '@steward/protocol/modules';
import { RequestHasher } from '../security/request-hash.js';
import type { Context } from '../core/context.js';
import { commandFromRow } from './rows.js';
import {
  finishCommandBrief,
  getCommandRow,
  getSecretPayload,
  insertCommandOnce,
  insertReportedCommand,
  listCommandRows,
  finishCommands,
  recordCommandProgress,
  startCommands,
  transitionCommand,
  type CommandBrief,
  type CommandEnd,
  type CommandStart,
} from '../store/queries/commands.js';
import type { BulkWrite } from '../store/write-batcher.js';
import { findNodeRow } from '../store/queries/nodes.js';
import type { CommandsTable, NodesTable } from '../store/schema.js';
import type { CommandReceiver } from '../agents/gateway.js';
import type { AgentLink } from '../agents/link.js';
import { publishCommandProgress, publishCommandState } from '../events/command-state.js';
import { loadWhenDone } from '../core/wait.js';
import type { PayloadChecker } from './payload-check.js';
import type { CatalogCache } from './catalogs.js';
import { approvalRequestRow, compilePolicies, holdForApproval, policyFor, type CompiledPolicy, type Requester } from './approval-policies.js';
import { insertApprovalRequest, listApprovalPolicies, transitionApprovalRequest } from '../store/queries/approvals.js';
import { OutputRecorder, type OutputVerdict } from './output-recorder.js';
import { UnknownCommandReporter } from './unknown-results.js';
import type { AuditRecord } from '../http/audit-hook.js';

export interface CommandSpec {
  type: string;
  payload: Record<string, unknown>;
  timeoutMs: number;
  ttlMs: number;
}

/** A built-in type's payload as it may be shown and kept, when it has secrets; else undefined (for newCommandRow's `shown`). */
export function builtinShown(type: string, payload: unknown): unknown {
  const r = redactWriteOnly(builtinPayload(type), payload);
  return r.redacted ? r.value : undefined;
}

/** The memo key of a fan-out's redaction when the type is built-in (the same for every node). */
const BUILTIN_MEMO_KEY = Symbol('builtin');

export function specOf(body: Pick<CommandCreate, 'type' | 'payload' | 'timeoutMs' | 'ttlMs'>): CommandSpec {
  return {
    type: body.type,
    payload: body.payload ?? {},
    timeoutMs: body.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    ttlMs: body.ttlMs ?? DEFAULT_COMMAND_TTL_MS,
  };
}

export function newCommandRow(
  spec: CommandSpec,
  nodeId: string,
  now: number,
  extra: { requestId?: string | null; requestHash?: string | null; jobId?: string | null; held?: boolean; shown?: unknown } = {},
): CommandsTable {
  // With secrets, the row shows the redacted payload and keeps the full one aside until the end.
  const secret = extra.shown !== undefined;
  return {
    id: newId('cmd'),
    request_id: extra.requestId ?? null,
    request_hash: extra.requestHash ?? null,
    node_id: nodeId,
    job_id: extra.jobId ?? null,
    type: spec.type,
    payload: JSON.stringify(secret ? extra.shown : spec.payload),
    secret_payload: secret ? JSON.stringify(spec.payload) : null,
    state: 'pending',
    timeout_ms: spec.timeoutMs,
    ttl_ms: spec.ttlMs,
    expires_at: extra.held ? null : now + spec.ttlMs,
    held: extra.held ? 1 : 0,
    created_at: now,
    dispatched_at: null,
    started_at: null,
    finished_at: null,
    deliveries: 0,
    result: null,
    error: null,
    progress: null,
    output_seq: 0,
    output_bytes: 0,
    output_truncated: 0,
  };
}

/** Agents' starts and results, stored in bulk: a start before its result when both wait in one flush. */
const STARTS: BulkWrite<CommandStart, CommandBrief | undefined> = { rank: 1, run: startCommands };
const ENDS: BulkWrite<CommandEnd, CommandBrief | undefined> = { rank: 2, run: finishCommands };

/** Called when a command reaches a terminal state, so jobs can move on. */
export type TerminalListener = (row: CommandBrief) => void;
/** Called when `submit` stored a new command, with who asked (recordings note who opened a session). */
export type SubmitListener = (row: CommandsTable, requester: Requester | undefined) => void;

export class CommandService implements CommandReceiver {
  private readonly terminalListeners: TerminalListener[] = [];
  private readonly submitListeners: SubmitListener[] = [];
  /** Keyed request hashes (requestId idempotency) for commands, jobs and tasks. */
  readonly requests: RequestHasher;
  /** Streamed output agents send while commands run (stored up to the per-command cap). */
  readonly output: OutputRecorder;
  /** Results and ids of commands the store does not know (it was restored from an older backup). */
  private readonly unknown: UnknownCommandReporter;

  constructor(
    private readonly ctx: Context,
    private readonly link: Pick<AgentLink, 'deliver' | 'cancel'>,
    private readonly payloads: PayloadChecker,
    readonly catalogs: CatalogCache,
    /** Where a result for a command the store does not know is recorded (the audit log). */
    audit: (r: AuditRecord) => void = () => {},
  ) {
    this.unknown = new UnknownCommandReporter(ctx, audit);
    this.requests = new RequestHasher(ctx.store);
    this.output = new OutputRecorder(ctx, ctx.settings.limits.commandOutputBytes, async (nodeId, commandId) => {
      const secrets = await this.secretsOf(nodeId, commandId);
      return secrets.length === 0 ? (text) => text : (text) => secrets.reduce((t, s) => t.split(s).join(REDACTED), text);
    });
  }

  onTerminal(listener: TerminalListener): void {
    this.terminalListeners.push(listener);
  }

  onSubmitted(listener: SubmitListener): void {
    this.submitListeners.push(listener);
  }

  async resolveNode(idOrName: string): Promise<NodesTable> {
    const node = await findNodeRow(this.ctx.store.db, idOrName);
    if (!node) throw new NotFoundError('node', idOrName);
    return node;
  }

  /** Checks the payload against the node's declared types; returns the catalog it used. */
  checkPayload(node: Pick<NodesTable, 'id' | 'name' | 'inventory' | 'protocol'>, spec: CommandSpec, alreadyChecked?: Set<unknown>): void {
    const types = this.catalogs.forNode(node);
    if (alreadyChecked?.has(types)) return;
    // A seed-protocol device offers what its protocol can carry: say so, or the refusal reads like a typo.
    this.payloads.check(types, spec.type, spec.payload, node.protocol === 'steward' ? node.name : `${node.name} (a ${node.protocol} device)`);
    alreadyChecked?.add(types);
  }

  /**
   * The payload as it may be shown and kept, when its type marks parts secret (writeOnly); else
   * undefined. Steward's own types are redacted by the control plane's schemas (BUILTIN_PAYLOADS,
   * the one authoritative list), a plugin's by the schema its node declared.
   */
  shownPayload(node: Pick<NodesTable, 'id' | 'inventory'>, spec: CommandSpec, memo?: Map<unknown, unknown>): unknown {
    const builtin = builtinPayload(spec.type);
    const types = builtin ? BUILTIN_MEMO_KEY : this.catalogs.forNode(node);
    // Catalogs are shared between nodes with the same modules: a fan-out redacts once per catalog.
    if (memo?.has(types)) return memo.get(types);
    const schema = builtin ?? (types as CommandTypeInfo[]).find((t) => t.type === spec.type)?.payloadSchema;
    const r = schema ? redactWriteOnly(schema, spec.payload) : { redacted: false, value: undefined };
    const shown = r.redacted ? r.value : undefined;
    memo?.set(types, shown);
    return shown;
  }

  /** The approval policies in force now (few rows; read per submission so every replica sees a change at once). */
  async approvalPolicies(): Promise<CompiledPolicy[]> {
    return compilePolicies(await listApprovalPolicies(this.ctx.store.db));
  }

  /**
   * Submits a command. With a `requester` (an operator's request), a command an approval policy
   * covers is stored `awaiting_approval` and not sent until a second operator approves it.
   */
  async submit(body: CommandCreate, requester?: Requester): Promise<{ command: Command; created: boolean }> {
    const node = await this.resolveNode(body.node);
    const spec = specOf(body);
    this.checkPayload(node, spec);
    const policy = requester ? policyFor(await this.approvalPolicies(), spec.type, node) : undefined;
    const now = this.ctx.now();
    const hash = body.requestId ? await this.requests.hash({ nodeId: node.id, ...spec }) : null;
    const row = newCommandRow(spec, node.id, now, { requestId: body.requestId ?? null, requestHash: hash, shown: this.shownPayload(node, spec) });
    if (policy) holdForApproval(row, policy, now);
    const { row: saved, created } = policy
      ? await this.ctx.store.tx(async (db) => {
          const r = await insertCommandOnce(db, row);
          if (r.created) await insertApprovalRequest(db, approvalRequestRow(row.id, 'command', spec.type, policy, requester!, now));
          return r;
        })
      : await insertCommandOnce(this.ctx.store.db, row);
    if (!created) {
      if (saved.request_hash !== hash || saved.job_id !== null) {
        throw new ConflictError(
          'request_id_conflict',
          `requestId ${JSON.stringify(body.requestId)} was already used for a different command (${saved.id})`,
          { commandId: saved.id },
        );
      }
      return { command: commandFromRow(saved), created: false };
    }
    publishCommandState(this.ctx, saved);
    for (const l of this.submitListeners) l(saved, requester);
    if (saved.state === 'pending') this.link.deliver(node.id, [saved]);
    return { command: commandFromRow(saved), created: true };
  }

  /**
   * Announces and sends commands a feature inserted in its own transaction (the task scheduler
   * stores attempts and their commands together); call after that transaction committed.
   */
  pushNew(rows: CommandsTable[]): void {
    const byNode = new Map<string, CommandsTable[]>();
    for (const row of rows) {
      publishCommandState(this.ctx, row);
      const list = byNode.get(row.node_id);
      if (list) list.push(row);
      else byNode.set(row.node_id, [row]);
    }
    for (const [nodeId, list] of byNode) this.link.deliver(nodeId, list);
  }

  async get(id: string): Promise<Command> {
    const row = await getCommandRow(this.ctx.store.db, id);
    if (!row) throw new NotFoundError('command', id);
    return commandFromRow(row);
  }

  async list(q: CommandListQuery): Promise<Command[]> {
    let nodeId: string | undefined;
    if (q.node) nodeId = (await this.resolveNode(q.node)).id;
    const rows = await listCommandRows(this.ctx.store.db, {
      nodeId,
      state: q.state as CommandState | undefined,
      type: q.type,
      jobId: q.job,
      limit: q.limit,
    });
    return rows.map(commandFromRow);
  }

  /** Holds until the command ends or `waitMs` passes, then returns it as it is. */
  waitForEnd(id: string, waitMs: number): Promise<Command> {
    return loadWhenDone(
      this.ctx.bus,
      (e) => e.kind === 'command.state' && e.commandId === id && isTerminalCommandState(e.state),
      () => this.get(id),
      (c) => isTerminalCommandState(c.state),
      waitMs,
    );
  }

  async cancel(id: string, reason = 'cancelled by an operator'): Promise<Command> {
    const before = await getCommandRow(this.ctx.store.db, id);
    if (!before) throw new NotFoundError('command', id);
    const now = this.ctx.now();
    const row = await this.ctx.store.tx(async (db) => {
      const moved = await transitionCommand(db, id, 'cancelled', { finished_at: now, error: JSON.stringify({ code: 'cancelled', message: reason }) });
      // A held command cancelled before anyone decided: its approval request is over too.
      if (moved && before.state === 'awaiting_approval' && !before.job_id) await transitionApprovalRequest(db, id, 'rejected', now, reason);
      return moved;
    });
    if (!row) {
      const now = await this.get(id);
      throw new InvalidStateError(`command ${id} has already ended (${now.state}); it cannot be cancelled`, {
        state: now.state,
      });
    }
    // Even a `pending` one: it may already be on the wire (sent before the delivery was recorded).
    this.link.cancel(row.node_id, id);
    this.ended(row);
    return commandFromRow(row);
  }

  /** Asks the node to stop a command it may still run (ended here, or no longer its own). */
  stopOnNode(nodeId: string, commandId: string): void {
    this.link.cancel(nodeId, commandId);
  }

  /** The command types a node declared; payloads to it are checked against them. */
  declared(nodeId: string, types: CommandTypeInfo[]): void {
    this.catalogs.remember(nodeId, types);
  }

  async started(nodeId: string, commandId: string): Promise<void> {
    // The starts of one moment (a fan-out's thousands) are stored by one statement.
    const row = await this.ctx.store.bulk(STARTS, { id: commandId, nodeId, at: this.ctx.now() });
    if (row) publishCommandState(this.ctx, row);
  }

  /** Keeps the latest progress of a node's own unfinished command and tells event followers. */
  async progressed(nodeId: string, commandId: string, progress: CommandProgress): Promise<void> {
    const row = await this.ctx.store.batch((db) => recordCommandProgress(db, commandId, nodeId, JSON.stringify(progress)));
    if (row) publishCommandProgress(this.ctx, row, progress);
  }

  /** Stores a running command's output chunks (each once, in order); the answer says what to acknowledge. */
  streamed(nodeId: string, msg: CommandOutputMessage): Promise<OutputVerdict> {
    return this.output.record(nodeId, msg);
  }

  /** Stores an agent's result once; a repeat or a result for a finished command changes nothing. */
  async finished(nodeId: string, msg: CommandResultMessage): Promise<void> {
    const now = this.ctx.now();
    const end = (scrub: (json: string) => string) => ({
      result: msg.result === undefined ? null : scrub(JSON.stringify(msg.result)),
      error: msg.error ? scrub(JSON.stringify(msg.error)) : null,
    });
    // Most commands keep no secret: a conditional multi-row update ends those, the results of
    // one moment together (a fan-out's thousands cost a few statements). It changes nothing for
    // a command with a secret payload, a repeat or an unknown id; those read the secrets (if
    // any), scrub, and try again on their own.
    let row = await this.ctx.store.bulk(ENDS, { id: msg.commandId, nodeId, state: msg.state, ...end((json) => json), at: now });
    if (!row) {
      const scrub = await this.secretScrubber(nodeId, msg.commandId);
      row = await this.ctx.store.batch((db) => finishCommandBrief(db, msg.commandId, msg.state, end(scrub), nodeId, now));
    }
    if (row) this.ended(row);
    else await this.unknown.result(nodeId, msg);
  }

  /** What a node received between this store's backup and its restore; ids the store lacks are reported. */
  recent(nodeId: string, commandIds: string[]): Promise<void> {
    return this.unknown.ids(nodeId, commandIds);
  }

  /** The schema secrets are found by: the control plane's for a built-in type, else what the node declared. */
  private schemaOnNode(nodeId: string, type: string): unknown {
    return builtinPayload(type) ?? this.catalogs.forNodeId(nodeId)?.find((t) => t.type === type)?.payloadSchema;
  }

  /**
   * A result that echoes a secret of its payload (a script printing its input, an error quoting
   * an env value) must not keep it: the secret values are replaced in the result's JSON text.
   */
  private async secretScrubber(nodeId: string, commandId: string): Promise<(json: string) => string> {
    const secrets = await this.secretsOf(nodeId, commandId);
    if (secrets.length === 0) return (json) => json;
    const quotedRedacted = JSON.stringify(REDACTED).slice(1, -1);
    return (json) => secrets.reduce((text, s) => text.split(JSON.stringify(s).slice(1, -1)).join(quotedRedacted), json);
  }

  /** The secret values of an unfinished command's payload, longest first (so one containing another is replaced whole). */
  private async secretsOf(nodeId: string, commandId: string): Promise<string[]> {
    const row = await getSecretPayload(this.ctx.store.db, commandId, nodeId);
    if (!row?.secret_payload) return [];
    const schema = this.schemaOnNode(nodeId, row.type);
    return secretStrings(schema, JSON.parse(row.secret_payload)).sort((a, b) => b.length - a.length);
  }

  /**
   * Records a command the node ran on its inbound API (a MediaStack controller called it), so
   * the node has one history. Its request id is kept as `inbound:<node id>:<request_id>`:
   * unique per node and never mistaken for a REST requestId. A repeat changes nothing.
   */
  async reported(nodeId: string, msg: CommandReportedMessage): Promise<void> {
    const c = msg.command;
    const row = await insertReportedCommand(this.ctx.store.db, {
      id: msg.commandId,
      request_id: `${c.via}:${nodeId}:${c.requestId}`,
      request_hash: null,
      node_id: nodeId,
      job_id: null,
      type: c.type,
      // The agent sends it redacted already; redacted again by the control plane's own list.
      payload: JSON.stringify(redactWriteOnly(this.schemaOnNode(nodeId, c.type), c.payload ?? {}).value),
      secret_payload: null,
      state: msg.state,
      timeout_ms: c.timeoutMs,
      ttl_ms: c.timeoutMs,
      expires_at: null,
      held: 0,
      created_at: c.receivedAt,
      dispatched_at: null,
      started_at: msg.startedAt,
      finished_at: msg.finishedAt,
      deliveries: 0,
      result: msg.result === undefined ? null : JSON.stringify(msg.result),
      error: msg.error ? JSON.stringify(msg.error) : null,
      progress: null,
      output_seq: 0,
      output_bytes: 0,
      output_truncated: 0,
    });
    if (row) this.ended(row);
  }

  /** Publishes a terminal transition made elsewhere (sweeps, job cancel, node delete). */
  ended(row: CommandBrief): void {
    this.output.forget(row.id);
    publishCommandState(this.ctx, row);
    for (const l of this.terminalListeners) l(row);
  }
}
