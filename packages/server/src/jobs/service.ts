import {
  ConflictError,
  InvalidStateError,
  matchesSelector,
  newId,
  NotFoundError,
  parseSelector,
  ValidationError,
  type Job,
  type JobCreate,
  type JobDetail,
  type JobPageQuery,
  type JobState,
  JOB_CREATED_PAGE,
  JOB_PAGE_DEFAULT,
  type Labels,
  type ApprovalPolicy,
} from '@steward/protocol';
import type { AgentLink } from '../agents/link.js';
import { newCommandRow, specOf, type CommandService } from '../commands/service.js';
import type { Context } from '../core/context.js';
import { commandFromRow } from '../commands/rows.js';
import { fromJson } from '../store/rows.js';
import { jobFromRow } from './rows.js';
import { insertCommands, listJobCommandPage, listJobCommandRows, transitionCommand } from '../store/queries/commands.js';
import { cancelHeld, findJobByRequestId, getJobRow, insertJob, jobCounts, listJobRows, transitionJob } from '../store/queries/jobs.js';
import { listNodeTargets, type NodeTargetRow } from '../store/queries/nodes.js';
import type { CommandsTable, JobsTable } from '../store/schema.js';
import type { JobTracker } from './tracker.js';
import { publishCommandState } from '../events/command-state.js';
import { loadWhenDone } from '../core/wait.js';
import { approvalRequestRow, holdForApproval, policyFor, stricter, type Requester } from '../commands/approval-policies.js';
import { insertApprovalRequest, transitionApprovalRequest } from '../store/queries/approvals.js';

export class JobService {
  constructor(
    private readonly ctx: Context,
    private readonly commands: CommandService,
    private readonly link: Pick<AgentLink, 'deliver' | 'cancel'>,
    tracker: JobTracker,
  ) {
    commands.onTerminal((row) => {
      if (row.job_id) tracker.touch(row.job_id);
    });
  }

  private async targets(body: JobCreate): Promise<NodeTargetRow[]> {
    const t = body.target;
    const all = await listNodeTargets(this.ctx.store.db);
    if ('all' in t) return all;
    if ('selector' in t) {
      const sel = parseSelector(t.selector, 'target.selector');
      return all.filter((n) => matchesSelector(fromJson<Labels>(n.labels) ?? {}, sel));
    }
    const byKey = new Map<string, NodeTargetRow>();
    for (const n of all) {
      byKey.set(n.name, n);
      byKey.set(n.id, n);
    }
    const missing = t.nodes.filter((k) => !byKey.has(k));
    if (missing.length) {
      throw new ValidationError(`target.nodes: no such node: ${missing.slice(0, 20).join(', ')}`, [
        { field: 'target.nodes', rule: `unknown node(s): ${missing.slice(0, 20).join(', ')}` },
      ]);
    }
    return [...new Map(t.nodes.map((k) => [byKey.get(k)!.id, byKey.get(k)!])).values()];
  }

  /**
   * Creates a job. With a `requester`, the commands an approval policy covers on their node wait
   * in `awaiting_approval` (the rest go at once); the job is approved or rejected as a whole.
   * The answer is a summary: counts and the first page of commands (GET pages on from `next`).
   */
  async create(body: JobCreate, requester?: Requester): Promise<{ job: JobDetail; created: boolean }> {
    const spec = specOf(body);
    const hash = body.requestId ? await this.commands.requests.hash({ target: body.target, batchSize: body.batchSize ?? null, ...spec }) : null;
    if (body.requestId) {
      const existing = await findJobByRequestId(this.ctx.store.db, body.requestId);
      if (existing) return { job: await this.replay(existing, hash), created: false };
    }
    const nodes = await this.targets(body);
    if (nodes.length === 0) {
      throw new ValidationError('target matches no node', [{ field: 'target', rule: 'must match at least one node' }]);
    }
    const checked = new Set<unknown>();
    for (const n of nodes) this.commands.checkPayload(n, spec, checked);
    const now = this.ctx.now();
    const jobId = newId('job');
    const batch = body.batchSize ?? null;
    const memo = new Map<unknown, unknown>();
    const rows = nodes.map((n, i) =>
      newCommandRow(spec, n.id, now, { jobId, held: batch !== null && i >= batch, shown: this.commands.shownPayload(n, spec, memo) }),
    );
    const policies = requester ? await this.commands.approvalPolicies() : [];
    let strictest: ApprovalPolicy | undefined;
    for (const [i, n] of nodes.entries()) {
      const p = policies.length ? policyFor(policies, spec.type, n) : undefined;
      if (!p) continue;
      strictest = stricter(strictest, p);
      holdForApproval(rows[i]!, p, now);
    }
    // One decision for the whole job: every held command shares the strictest policy's TTL.
    if (strictest) for (const r of rows) if (r.state === 'awaiting_approval') r.expires_at = now + strictest.ttlSeconds * 1000;
    const shown = rows.find((r) => r.secret_payload !== null)?.payload;
    const job: JobsTable = {
      id: jobId,
      request_id: body.requestId ?? null,
      request_hash: hash,
      type: spec.type,
      payload: shown ?? JSON.stringify(spec.payload),
      target: JSON.stringify(body.target),
      batch_size: batch,
      state: 'running',
      total: rows.length,
      created_at: now,
      finished_at: null,
    };
    try {
      await this.ctx.store.tx(async (db) => {
        await insertJob(db, job);
        await insertCommands(db, rows);
        if (strictest) await insertApprovalRequest(db, approvalRequestRow(jobId, 'job', spec.type, strictest, requester!, now));
      });
    } catch (err) {
      // Two submissions with one request id raced; the loser answers with the winner's job.
      const existing = body.requestId ? await findJobByRequestId(this.ctx.store.db, body.requestId) : undefined;
      if (existing) return { job: await this.replay(existing, hash), created: false };
      throw err;
    }
    const counts: Record<string, number> = {};
    for (const r of rows) {
      const key = r.held && r.state === 'pending' ? 'queued' : r.state;
      counts[key] = (counts[key] ?? 0) + 1;
    }
    this.ctx.bus.publish({ kind: 'job.state', at: now, jobId, state: 'running', counts });
    for (const r of rows) {
      if (r.state === 'awaiting_approval') publishCommandState(this.ctx, r);
      else if (!r.held) {
        publishCommandState(this.ctx, r);
        this.link.deliver(r.node_id, [r]);
      }
    }
    // Ids are random: the first page is the lowest ids, as GET /jobs/:id would give it.
    const page = rows.map((r) => r.id).sort(byId).slice(0, JOB_CREATED_PAGE + 1);
    const byRowId = new Map(rows.map((r) => [r.id, r]));
    const first = page.slice(0, JOB_CREATED_PAGE).map((id) => commandFromRow(byRowId.get(id)!));
    const next = page.length > JOB_CREATED_PAGE ? first[first.length - 1]!.id : null;
    return { job: { ...jobFromRow(job, counts), commands: first, next }, created: true };
  }

  private async replay(existing: JobsTable, hash: string | null): Promise<JobDetail> {
    if (existing.request_hash !== hash) {
      throw new ConflictError(
        'request_id_conflict',
        `requestId ${JSON.stringify(existing.request_id)} was already used for a different job (${existing.id})`,
        { jobId: existing.id },
      );
    }
    return this.get(existing.id, { limit: JOB_CREATED_PAGE });
  }

  /** The job with one page of its commands (`page.after`: the `next` of the page before). */
  async get(id: string, page: JobPageQuery = {}): Promise<JobDetail> {
    const db = this.ctx.store.db;
    const row = await getJobRow(db, id);
    if (!row) throw new NotFoundError('job', id);
    const limit = page.limit ?? JOB_PAGE_DEFAULT;
    // One row more than asked says whether a next page exists without another query.
    const [counts, rows] = await Promise.all([jobCounts(db, id), listJobCommandPage(db, id, limit + 1, page.after)]);
    const commands = rows.slice(0, limit).map(commandFromRow);
    const next = rows.length > limit ? commands[commands.length - 1]!.id : null;
    return { ...jobFromRow(row, counts), commands, next };
  }

  /** The job without its commands (counts say how they stand): for a stream that already gave each command. */
  async summary(id: string): Promise<Job> {
    const row = await getJobRow(this.ctx.store.db, id);
    if (!row) throw new NotFoundError('job', id);
    return jobFromRow(row, await jobCounts(this.ctx.store.db, id));
  }

  async list(q: { state?: string; limit?: number }): Promise<Job[]> {
    const db = this.ctx.store.db;
    const rows = await listJobRows(db, { state: q.state as JobState | undefined, limit: q.limit });
    return Promise.all(rows.map(async (r) => jobFromRow(r, await jobCounts(db, r.id))));
  }

  waitForEnd(id: string, waitMs: number, page: JobPageQuery = {}): Promise<JobDetail> {
    return loadWhenDone(
      this.ctx.bus,
      (e) => e.kind === 'job.state' && e.jobId === id && e.state !== 'running',
      () => this.get(id, page),
      (j) => j.state !== 'running',
      waitMs,
    );
  }

  async cancel(id: string): Promise<JobDetail> {
    const now = this.ctx.now();
    const ended: CommandsTable[] = [];
    const moved = await this.ctx.store.tx(async (db) => {
      const job = await transitionJob(db, id, 'cancelled', now);
      if (!job) return undefined;
      // Cancelled while its approval was awaited: nothing is left to decide.
      await transitionApprovalRequest(db, id, 'rejected', now, 'job cancelled');
      ended.push(...(await cancelHeld(db, id, now)));
      for (const c of await listJobCommandRows(db, id)) {
        const row = await transitionCommand(db, c.id, 'cancelled', {
          finished_at: now,
          error: JSON.stringify({ code: 'cancelled', message: 'job cancelled' }),
        });
        if (row) ended.push(row);
      }
      return job;
    });
    if (!moved) {
      const row = await getJobRow(this.ctx.store.db, id);
      if (!row) throw new NotFoundError('job', id);
      throw new InvalidStateError(`job ${id} has already ended (${row.state})`, { state: row.state });
    }
    for (const row of ended) {
      this.link.cancel(row.node_id, row.id);
      publishCommandState(this.ctx, row);
    }
    const detail = await this.get(id);
    this.ctx.bus.publish({ kind: 'job.state', at: now, jobId: id, state: 'cancelled', counts: detail.counts });
    return detail;
  }
}

/** Code-unit order, as the store's `ORDER BY id` gives ids (they are ASCII). */
function byId(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
