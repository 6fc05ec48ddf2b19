import { newId, NotFoundError, parseSelector, ValidationError, type BackupSchedule, type BackupScheduleCreate, type BackupScheduleTarget } from '@steward/protocol';
import type { CommandService } from '../commands/service.js';
import type { Context } from '../core/context.js';
import {
  claimBackupScheduleRun,
  deleteBackupSchedule,
  dueBackupSchedules,
  getBackupSchedule,
  insertBackupSchedule,
  listBackupSchedules,
} from '../store/queries/backup-schedules.js';
import type { BackupSchedulesTable } from '../store/schema.js';
import { nextRunAfter, parseCron } from './cron.js';
import { scheduleFromRow } from './rows.js';
import type { BackupService } from './service.js';

/** Nothing scheduled is further away than this; a schedule with no run before it is parked there. */
const NEVER = Number.MAX_SAFE_INTEGER;

/**
 * Backup schedules: cron expressions that run `backup.run` on a node or a selector, then apply
 * retention. Every control plane sweeps; a run is owned by whoever moves `next_run_at` on first.
 */
export class BackupScheduler {
  constructor(
    private readonly ctx: Context,
    private readonly commands: CommandService,
    private readonly backups: BackupService,
  ) {
    backups.onScheduledBackup = async (scheduleId) => {
      const s = await getBackupSchedule(ctx.store.db, scheduleId);
      if (s) await backups.applyRetention(s, ctx.now());
    };
  }

  async create(body: BackupScheduleCreate): Promise<BackupSchedule> {
    const timezone = body.timezone ?? 'UTC';
    const cron = parseCron(body.cron, timezone);
    const target = await this.resolveTarget(body.target);
    const now = this.ctx.now();
    const row: BackupSchedulesTable = {
      id: newId('bsched'),
      name: body.name ?? null,
      cron: body.cron,
      timezone,
      target: JSON.stringify(target),
      source: body.source,
      exclude: JSON.stringify(body.exclude ?? []),
      destination: body.destination ?? 'control-plane',
      keep_last: body.keepLast ?? null,
      keep_days: body.keepDays ?? null,
      next_run_at: nextRunAfter(cron, now) ?? NEVER,
      last_run_at: null,
      created_at: now,
    };
    await insertBackupSchedule(this.ctx.store.db, row);
    return scheduleFromRow(row);
  }

  /** A node target is kept by id, so a rename does not break the schedule. */
  private async resolveTarget(t: BackupScheduleTarget): Promise<BackupScheduleTarget> {
    if ('node' in t) {
      const node = await this.commands.resolveNode(t.node).catch(() => {
        throw new ValidationError(`target.node: no node ${JSON.stringify(t.node)}`, [{ field: 'target.node', rule: 'an existing node id or name' }]);
      });
      return { node: node.id };
    }
    parseSelector(t.selector, 'target.selector');
    return t;
  }

  async list(): Promise<BackupSchedule[]> {
    return (await listBackupSchedules(this.ctx.store.db)).map(scheduleFromRow);
  }

  async get(id: string): Promise<BackupSchedule> {
    const row = await getBackupSchedule(this.ctx.store.db, id);
    if (!row) throw new NotFoundError('backup schedule', id);
    return scheduleFromRow(row);
  }

  /** Stops future runs; backups it made stay until deleted. */
  async remove(id: string): Promise<void> {
    if (!(await deleteBackupSchedule(this.ctx.store.db, id))) throw new NotFoundError('backup schedule', id);
  }

  /** Runs every schedule that is due, each run exactly once across control planes. */
  async sweep(now: number): Promise<void> {
    for (const s of await dueBackupSchedules(this.ctx.store.db, now)) {
      let next: number;
      try {
        // Runs missed while no control plane was up are not made up one by one: one run, then on.
        next = nextRunAfter(parseCron(s.cron, s.timezone), now) ?? NEVER;
      } catch (err) {
        this.ctx.log.error({ err, scheduleId: s.id }, 'backup schedule has a cron expression that no longer parses; parked');
        next = NEVER;
      }
      if (!(await claimBackupScheduleRun(this.ctx.store.db, s.id, s.next_run_at, next, now))) continue;
      await this.start(s).catch((err) => this.ctx.log.warn({ err, scheduleId: s.id }, 'scheduled backup could not start'));
      await this.backups.applyRetention(s, now).catch((err) => this.ctx.log.warn({ err, scheduleId: s.id }, 'backup retention failed'));
    }
  }

  private async start(s: BackupSchedulesTable): Promise<void> {
    const target = JSON.parse(s.target) as BackupScheduleTarget;
    const common = {
      source: s.source,
      exclude: JSON.parse(s.exclude) as string[],
      destination: s.destination as 'node' | 'control-plane',
    };
    // The run's key is the time it was owed: even a replayed sweep cannot start it twice.
    const opts = { scheduleId: s.id, requestId: `backup-schedule:${s.id}:${s.next_run_at}` };
    await this.backups.run('node' in target ? { node: target.node, ...common } : { selector: target.selector, ...common }, opts);
  }
}
