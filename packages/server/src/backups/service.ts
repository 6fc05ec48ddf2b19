import {
  compile,
  InvalidStateError,
  NotFoundError,
  BackupRunResult,
  type Backup,
  type BackupListQuery,
  type BackupRestore,
  type BackupRun,
  type BackupRunStarted,
  type BackupVerify,
  type Command,
} from '@steward/protocol';
import type { ArtifactService } from '../artifacts/service.js';
import type { CommandService } from '../commands/service.js';
import type { Context } from '../core/context.js';
import type { JobService } from '../jobs/service.js';
import { getCommandRow, type CommandBrief } from '../store/queries/commands.js';
import {
  countBackupsUsingArtifact,
  deleteBackupRow,
  getBackupRow,
  insertBackupOnce,
  listBackupRows,
  unrecordedBackupCommands,
} from '../store/queries/backups.js';
import type { BackupSchedulesTable, BackupsTable, CommandsTable } from '../store/schema.js';
import { backupFromRow } from './rows.js';

const resultCheck = compile(BackupRunResult);
const DAY_MS = 86_400_000;

export interface RunOptions {
  scheduleId?: string;
  /** Idempotency key: the same key never starts a second run. */
  requestId?: string;
}

/** Backups as the control plane knows them: started through commands/jobs, recorded from their results. */
export class BackupService {
  constructor(
    private readonly ctx: Context,
    private readonly commands: CommandService,
    private readonly jobs: JobService,
    private readonly artifacts: ArtifactService,
  ) {}

  async run(body: BackupRun, o: RunOptions = {}): Promise<BackupRunStarted> {
    const payload = {
      source: body.source,
      exclude: body.exclude ?? [],
      destination: body.destination ?? 'control-plane',
      ...(o.scheduleId ? { scheduleId: o.scheduleId } : {}),
    };
    const common = { type: 'backup.run', payload, ...(body.timeoutMs ? { timeoutMs: body.timeoutMs } : {}), ...(o.requestId ? { requestId: o.requestId } : {}) };
    if ('node' in body) {
      const { command } = await this.commands.submit({ node: body.node, ...common });
      return { command, job: null };
    }
    const { job } = await this.jobs.create({ target: { selector: body.selector }, ...common });
    const { commands: _, ...summary } = job;
    return { command: null, job: summary };
  }

  /** Called for every command that ends; records finished backups. */
  onCommandEnded(brief: CommandBrief): void {
    if (brief.type !== 'backup.run' || brief.state !== 'succeeded') return;
    void getCommandRow(this.ctx.store.db, brief.id)
      .then((row) => row && this.record(row))
      .catch((err) => this.ctx.log.error({ err, commandId: brief.id }, 'could not record a backup'));
  }

  /** Records the backup a succeeded `backup.run` made; then its schedule's retention applies. */
  async record(cmd: CommandsTable): Promise<Backup | null> {
    const result: unknown = cmd.result ? JSON.parse(cmd.result) : null;
    if (!resultCheck.check(result)) {
      this.ctx.log.warn({ commandId: cmd.id }, 'backup.run result does not look like a backup; not recorded');
      return null;
    }
    const row: BackupsTable = {
      id: result.backupId,
      node_id: cmd.node_id,
      command_id: cmd.id,
      schedule_id: result.scheduleId,
      source: result.source,
      exclude: JSON.stringify(result.exclude),
      destination: result.destination,
      archive_sha256: result.archiveSha256,
      archive_size: result.archiveSize,
      manifest_sha256: result.manifestSha256,
      file_count: result.fileCount,
      total_bytes: result.totalBytes,
      created_at: result.createdAt,
      deleted_at: null,
    };
    const created = await insertBackupOnce(this.ctx.store.db, row);
    // Not created: recorded before, or deleted since (then it stays deleted).
    if (!created) return (await getBackupRow(this.ctx.store.db, row.id)) ? backupFromRow(row) : null;
    if (row.schedule_id) await this.onScheduledBackup(row.schedule_id);
    return backupFromRow(row);
  }

  /** Set by the scheduler: retention after a scheduled backup is recorded. */
  onScheduledBackup: (scheduleId: string) => Promise<void> = async () => {};

  /** Records results a crash kept from being recorded when they arrived. */
  async reconcile(): Promise<void> {
    for (const cmd of await unrecordedBackupCommands(this.ctx.store.db)) await this.record(cmd);
  }

  async list(q: BackupListQuery): Promise<Backup[]> {
    const nodeId = q.node ? (await this.commands.resolveNode(q.node)).id : undefined;
    return (await listBackupRows(this.ctx.store.db, { nodeId, scheduleId: q.schedule, destination: q.destination, limit: q.limit })).map(backupFromRow);
  }

  async row(id: string): Promise<BackupsTable> {
    const row = await getBackupRow(this.ctx.store.db, id);
    if (!row) throw new NotFoundError('backup', id);
    return row;
  }

  async get(id: string): Promise<Backup> {
    return backupFromRow(await this.row(id));
  }

  /** Where a backup can be read: its own node, or any node when the control plane keeps it. */
  private async nodeFor(row: BackupsTable, requested: string | undefined): Promise<string> {
    const node = requested ? (await this.commands.resolveNode(requested)).id : row.node_id;
    if (row.destination === 'node' && node !== row.node_id) {
      throw new InvalidStateError(`backup ${row.id} is kept on node ${row.node_id}; only that node can read it (back up to the control plane to restore elsewhere)`, {
        backupId: row.id,
        nodeId: row.node_id,
      });
    }
    return node;
  }

  private refOf(row: BackupsTable) {
    return {
      backupId: row.id,
      archiveSha256: row.archive_sha256,
      ...(row.manifest_sha256 ? { manifestSha256: row.manifest_sha256 } : {}),
    };
  }

  async restore(id: string, body: BackupRestore): Promise<Command> {
    const row = await this.row(id);
    const node = await this.nodeFor(row, body.node);
    const { command } = await this.commands.submit({
      node,
      type: 'backup.restore',
      payload: { ...this.refOf(row), target: body.target, ...(body.keepSpecialBits ? { keepSpecialBits: true } : {}) },
      ...(body.timeoutMs ? { timeoutMs: body.timeoutMs } : {}),
    });
    return command;
  }

  async verify(id: string, body: BackupVerify): Promise<Command> {
    const row = await this.row(id);
    const node = await this.nodeFor(row, body.node);
    return (await this.commands.submit({ node, type: 'backup.verify', payload: this.refOf(row) })).command;
  }

  /**
   * Deletes a backup (remembered, so it never comes back) and frees its storage: artifacts no other backup uses are deleted; a
   * node-kept one is deleted by a `backup.delete` command on its node (delivered when it is online).
   */
  async remove(id: string): Promise<void> {
    const row = await this.row(id);
    if (!(await deleteBackupRow(this.ctx.store.db, id, this.ctx.now()))) return;
    if (row.destination === 'control-plane') {
      for (const sha of [row.archive_sha256, row.manifest_sha256]) {
        if (!sha || (await countBackupsUsingArtifact(this.ctx.store.db, sha)) > 0) continue;
        await this.artifacts.remove(sha).catch((err) => this.ctx.log.warn({ err, sha }, 'backup artifact already gone'));
      }
      return;
    }
    await this.commands
      .submit({ node: row.node_id, type: 'backup.delete', payload: { backupId: row.id }, requestId: `backup-delete:${row.id}` })
      .catch((err) => this.ctx.log.warn({ err, backupId: row.id, nodeId: row.node_id }, 'could not ask the node to delete a backup'));
  }

  /**
   * Retention of one schedule, per node: a backup is kept when it is among the newest
   * `keepLast` or younger than `keepDays` (either rule keeps it); without rules all are kept.
   */
  async applyRetention(s: Pick<BackupSchedulesTable, 'id' | 'keep_last' | 'keep_days'>, now: number): Promise<number> {
    if (s.keep_last === null && s.keep_days === null) return 0;
    const rows = await listBackupRows(this.ctx.store.db, { scheduleId: s.id, limit: 100_000 });
    const seenPerNode = new Map<string, number>();
    let removed = 0;
    for (const r of rows) {
      const rank = seenPerNode.get(r.node_id) ?? 0;
      seenPerNode.set(r.node_id, rank + 1);
      const byCount = s.keep_last !== null && rank < s.keep_last;
      const byAge = s.keep_days !== null && r.created_at >= now - s.keep_days * DAY_MS;
      if (byCount || byAge) continue;
      await this.remove(r.id).catch((err) => this.ctx.log.warn({ err, backupId: r.id }, 'retention could not delete a backup'));
      removed++;
    }
    return removed;
  }
}
