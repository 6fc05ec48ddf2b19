import { isTerminalCommandState, isTerminalTaskState, type StewardEvent, type WebhookEvent } from '@steward/protocol';
import type { Context } from '../../core/context.js';
import { commandFromRow } from '../../commands/rows.js';
import { jobFromRow } from '../../jobs/rows.js';
import { taskFromRow } from '../../tasks/rows.js';
import { getCommandRow } from '../../store/queries/commands.js';
import { getJobRow, jobCounts } from '../../store/queries/jobs.js';
import { getNodeRow } from '../../store/queries/nodes.js';
import { getTaskRow } from '../../store/queries/tasks.js';
import { listWebhooks } from '../../store/queries/webhooks.js';
import { WebhookService, type EventOccurrence } from './service.js';

/** How long the set of subscribed events is trusted before it is read again (a webhook added on another replica). */
const SUBSCRIBED_TTL_MS = 1000;

/**
 * Turns the ends of commands, jobs and tasks, and services' state changes, into webhook
 * deliveries. Only events this replica published are handled (the replica that made the
 * change), as for command-failure alerts; a dedupe key per occurrence makes a repeat of the
 * same end queue nothing, so a final state reaches each webhook once.
 */
export class WebhookEventNotifier {
  /** The read in flight is shared: a burst of events (a fan-out's 10,000 ends) waits on one query, not one each. */
  private subscribed: { events: Promise<Set<string>>; until: number } | null = null;

  constructor(
    private readonly ctx: Context,
    private readonly onQueued: () => void,
  ) {}

  subscribe(): () => void {
    return this.ctx.bus.subscribeOriginated((e) => {
      void this.handle(e).catch((err) => this.ctx.log.error({ err, kind: e.kind }, 'queueing a webhook for an event failed'));
    });
  }

  /** Queues the deliveries `e` calls for; resolves with how many were queued. */
  async handle(e: StewardEvent): Promise<number> {
    const event = webhookEventOf(e);
    if (!event || !(await this.anyoneWants(event))) return 0;
    const occurrence = await this.occurrence(e);
    if (!occurrence) return 0;
    const now = this.ctx.now();
    const queued = await this.ctx.store.tx((db) => WebhookService.enqueueEvent(db, occurrence, now));
    if (queued > 0) this.onQueued();
    return queued;
  }

  /** Forgets the cached subscriptions (a webhook was added or removed here). */
  invalidate(): void {
    this.subscribed = null;
  }

  private async anyoneWants(event: WebhookEvent): Promise<boolean> {
    const now = this.ctx.now();
    if (!this.subscribed || this.subscribed.until <= now) {
      const events = listWebhooks(this.ctx.store.db).then((hooks) => new Set(hooks.flatMap((h) => JSON.parse(h.events) as string[])));
      const entry = { events, until: now + SUBSCRIBED_TTL_MS };
      this.subscribed = entry;
      // A failed read is not cached: the next event reads again.
      events.catch(() => {
        if (this.subscribed === entry) this.subscribed = null;
      });
    }
    return (await this.subscribed.events).has(event);
  }

  private async occurrence(e: StewardEvent): Promise<EventOccurrence | null> {
    const db = this.ctx.store.db;
    switch (e.kind) {
      case 'command.state': {
        const row = await getCommandRow(db, e.commandId);
        if (!row) return null;
        const command = commandFromRow(row);
        return {
          event: 'command.finished',
          subject: command.id,
          dedupeKey: `command.finished:${command.id}`,
          body: { command },
          facts: { type: command.type, state: command.state },
          nodeId: command.nodeId,
        };
      }
      case 'job.state': {
        const row = await getJobRow(db, e.jobId);
        if (!row) return null;
        const job = jobFromRow(row, await jobCounts(db, row.id));
        // A job spans nodes: a filter's selector never matches it (nodeId null).
        return { event: 'job.finished', subject: job.id, dedupeKey: `job.finished:${job.id}`, body: { job }, facts: { type: job.type, state: job.state }, nodeId: null };
      }
      case 'task.state': {
        const row = await getTaskRow(db, e.taskId);
        if (!row) return null;
        const task = taskFromRow(row);
        return { event: 'task.finished', subject: task.id, dedupeKey: `task.finished:${task.id}`, body: { task }, facts: { type: task.kind, state: task.state }, nodeId: task.nodeId };
      }
      case 'service.state': {
        if (!e.nodeId || !e.state) return null;
        const node = await getNodeRow(db, e.nodeId);
        const subject = `${e.service}@${e.nodeId}`;
        return {
          event: 'service.state',
          subject,
          // The same change seen twice (a report replayed after a reconnect) is one delivery.
          dedupeKey: `service.state:${subject}:${e.revision ?? '-'}:${e.state}:${e.at}`,
          body: { service: { name: e.service, nodeId: e.nodeId, nodeName: node?.name ?? e.nodeId, state: e.state, version: e.version, revision: e.revision, reason: e.reason } },
          facts: { type: e.service, state: e.state },
          nodeId: e.nodeId,
        };
      }
      default:
        return null;
    }
  }
}

/** The webhook event a bus event is, if any: only ends (and services' changes) are webhook events. */
export function webhookEventOf(e: StewardEvent): WebhookEvent | null {
  switch (e.kind) {
    case 'command.state':
      return isTerminalCommandState(e.state) ? 'command.finished' : null;
    case 'job.state':
      return e.state !== 'running' ? 'job.finished' : null;
    case 'task.state':
      return isTerminalTaskState(e.state) ? 'task.finished' : null;
    case 'service.state':
      return e.nodeId && e.state ? 'service.state' : null;
    default:
      return null;
  }
}
