import {
  ForbiddenError,
  InvalidStateError,
  NotFoundError,
  SelfApprovalError,
  parseSelector,
  type ApiRole,
  type ApprovalListQuery,
  type ApprovalPolicy,
  type ApprovalPolicyPut,
  type ApprovalRequest,
  type ApprovalState,
} from '@steward/protocol';
import type { AgentLink } from '../agents/link.js';
import type { CommandService } from '../commands/service.js';
import type { Context } from '../core/context.js';
import { publishCommandState } from '../events/command-state.js';
import type { JobTracker } from '../jobs/tracker.js';
import type { AuditRecord } from '../http/audit-hook.js';
import {
  deleteApprovalPolicy,
  endAwaitingCommands,
  expireApprovalRequests,
  getApprovalRequest,
  insertApprovalVote,
  listApprovalPolicies,
  listApprovalRequests,
  listApprovalVotes,
  releaseApprovedCommands,
  transitionApprovalRequest,
  upsertApprovalPolicy,
} from '../store/queries/approvals.js';
import { getCommandRow } from '../store/queries/commands.js';
import type { ApprovalRequestsTable, ApprovalVotesTable, CommandsTable } from '../store/schema.js';
import { policyFromRow } from '../commands/approval-policies.js';

/** Who decides: the token of the request and its role. */
export interface Decider {
  tokenId: string;
  name: string;
  role: ApiRole | undefined;
}

function requestFromRow(r: ApprovalRequestsTable, votes: ApprovalVotesTable[]): ApprovalRequest {
  return {
    id: r.id,
    kind: r.kind as 'command' | 'job',
    type: r.type,
    policy: r.policy,
    state: r.state as ApprovalState,
    needed: Number(r.needed),
    approvedBy: votes.filter((v) => v.request_id === r.id).map((v) => v.token_name),
    requestedBy: r.requested_by_name,
    createdAt: Number(r.created_at),
    expiresAt: Number(r.expires_at),
    decidedAt: r.decided_at === null ? null : Number(r.decided_at),
    reason: r.reason,
  };
}

/**
 * Approval policies and the decisions on what they hold. An approval is a vote by a token other
 * than the requester's; when enough have voted the request is approved (a conditional update, so
 * two replicas counting the last vote at once approve it once) and its commands go out.
 */
export class ApprovalService {
  constructor(
    private readonly ctx: Context,
    private readonly commands: CommandService,
    private readonly link: Pick<AgentLink, 'deliver'>,
    private readonly tracker: Pick<JobTracker, 'touch'>,
    private readonly audit: (r: AuditRecord) => void,
  ) {}

  async putPolicy(name: string, body: ApprovalPolicyPut): Promise<ApprovalPolicy> {
    if (body.selector) parseSelector(body.selector, 'selector');
    const now = this.ctx.now();
    const row = await upsertApprovalPolicy(this.ctx.store.db, {
      name,
      command_types: JSON.stringify([...new Set(body.commandTypes)]),
      selector: body.selector ?? null,
      approvals: body.approvals ?? 1,
      ttl_seconds: body.ttlSeconds ?? 3600,
      created_at: now,
      updated_at: now,
    });
    return policyFromRow(row);
  }

  async listPolicies(): Promise<ApprovalPolicy[]> {
    return (await listApprovalPolicies(this.ctx.store.db)).map(policyFromRow);
  }

  async deletePolicy(name: string): Promise<void> {
    if (!(await deleteApprovalPolicy(this.ctx.store.db, name))) throw new NotFoundError('approval policy', name);
  }

  async list(q: ApprovalListQuery): Promise<ApprovalRequest[]> {
    const rows = await listApprovalRequests(this.ctx.store.db, { state: q.state, limit: q.limit });
    const votes = await listApprovalVotes(this.ctx.store.db, rows.map((r) => r.id));
    return rows.map((r) => requestFromRow(r, votes));
  }

  /** The request deciding a command: its own, or its job's. */
  async requestForCommand(commandId: string): Promise<ApprovalRequestsTable> {
    const cmd = await getCommandRow(this.ctx.store.db, commandId);
    if (!cmd) throw new NotFoundError('command', commandId);
    return this.request(cmd.job_id ?? cmd.id, cmd.job_id ? 'job' : 'command');
  }

  async request(id: string, what: 'command' | 'job'): Promise<ApprovalRequestsTable> {
    const req = await getApprovalRequest(this.ctx.store.db, id);
    if (!req) throw new NotFoundError(`approval request for ${what}`, id);
    return req;
  }

  /** One approval; the commands go out when it is the last one needed. */
  async approve(req: ApprovalRequestsTable, by: Decider): Promise<void> {
    this.mayDecide(by);
    if (by.tokenId === req.requested_by) throw new SelfApprovalError();
    this.stillAwaiting(req);
    const now = this.ctx.now();
    const released = await this.ctx.store.tx(async (db) => {
      await insertApprovalVote(db, { request_id: req.id, token_id: by.tokenId, token_name: by.name, at: now });
      const votes = await listApprovalVotes(db, [req.id]);
      if (votes.length < Number(req.needed)) return [];
      const moved = await transitionApprovalRequest(db, req.id, 'approved', now);
      return moved ? releaseApprovedCommands(db, moved, now) : [];
    });
    for (const row of released) {
      publishCommandState(this.ctx, row);
      if (!row.held) this.link.deliver(row.node_id, [row]);
    }
    if (req.kind === 'job') this.tracker.touch(req.id);
  }

  async reject(req: ApprovalRequestsTable, by: Decider, reason: string | undefined): Promise<void> {
    this.mayDecide(by);
    this.stillAwaiting(req);
    const now = this.ctx.now();
    const text = reason ? `rejected by ${by.name}: ${reason}` : `rejected by ${by.name}`;
    const ended = await this.ctx.store.tx(async (db) => {
      const moved = await transitionApprovalRequest(db, req.id, 'rejected', now, text);
      return moved ? endAwaitingCommands(db, moved, 'cancelled', now, { code: 'approval_rejected', message: text }) : undefined;
    });
    if (!ended) throw new InvalidStateError(`approval request ${req.id} was decided meanwhile`);
    this.ended(ended);
  }

  /** Ends what nobody approved in time. */
  async sweep(now: number): Promise<number> {
    const requests: ApprovalRequestsTable[] = [];
    const expired = await this.ctx.store.tx(async (db) => {
      const out: CommandsTable[] = [];
      for (const req of await expireApprovalRequests(db, now)) {
        requests.push(req);
        out.push(...(await endAwaitingCommands(db, req, 'expired', now, { code: 'approval_expired', message: 'nobody approved it before its approval TTL ran out' })));
      }
      return out;
    });
    this.ended(expired);
    // Time decided these, not an operator; the log still says so. Status 0: no HTTP request made it.
    for (const req of requests) {
      this.audit({
        at: now,
        actorId: null,
        actorName: 'control plane',
        role: null,
        action: `${req.kind}s.approval_expired`,
        target: req.id,
        sourceIp: '-',
        userAgent: null,
        status: 0,
        errorCode: null,
        summary: { type: req.type, policy: req.policy, requestedBy: req.requested_by_name },
      });
    }
    return expired.length;
  }

  private ended(rows: CommandsTable[]): void {
    for (const row of rows) this.commands.ended(row);
  }

  private mayDecide(by: Decider): void {
    if (by.role !== 'admin' && by.role !== 'operator') throw new ForbiddenError('only operator and admin tokens may approve or reject');
  }

  private stillAwaiting(req: ApprovalRequestsTable): void {
    if (req.state !== 'awaiting') throw new InvalidStateError(`approval request ${req.id} is already ${req.state}`, { state: req.state });
  }
}
