import { describe, expect, it } from 'vitest';
import {
  claimBackupScheduleRun,
  deleteBackupSchedule,
  dueBackupSchedules,
  getBackupSchedule,
  insertBackupSchedule,
  listBackupSchedules,
} from '../../src/store/queries/backup-schedules.js';
import {
  countBackupsUsingArtifact,
  deleteBackupRow,
  getBackupRow,
  insertBackupOnce,
  listBackupRows,
  unrecordedBackupCommands,
} from '../../src/store/queries/backups.js';
import { insertCommandOnce, transitionCommand } from '../../src/store/queries/commands.js';
import type { BackupSchedulesTable, BackupsTable } from '../../src/store/schema.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';
import { commandRow } from '../helpers/rows.js';

const sha = (c: string) => c.repeat(64);
const backup = (over: Partial<BackupsTable> = {}): BackupsTable => ({
  id: 'backup_1',
  node_id: 'node_a',
  command_id: 'cmd_1',
  schedule_id: null,
  source: '/srv/site',
  exclude: '[]',
  destination: 'control-plane',
  archive_sha256: sha('a'),
  archive_size: 3_000_000_000,
  manifest_sha256: sha('m'),
  file_count: 12,
  total_bytes: 6_000_000_000,
  created_at: 1000,
  deleted_at: null,
  ...over,
});
const schedule = (over: Partial<BackupSchedulesTable> = {}): BackupSchedulesTable => ({
  id: 'bsched_1',
  name: 'nightly',
  cron: '0 3 * * *',
  timezone: 'UTC',
  target: '{"selector":"role=web"}',
  source: '/srv',
  exclude: '[]',
  destination: 'node',
  keep_last: 2,
  keep_days: null,
  next_run_at: 5000,
  last_run_at: null,
  created_at: 1,
  ...over,
});

describe.each(storeTargets())('backups on $name', (target) => {
  const ctx = useFreshStore(target);

  it('records a backup once, lists with filters newest first, deletes once', async () => {
    const { db } = ctx.store;
    expect(await insertBackupOnce(db, backup())).toBe(true);
    expect(await insertBackupOnce(db, backup({ source: '/other' }))).toBe(false);
    expect(await getBackupRow(db, 'backup_1')).toEqual(backup());
    await insertBackupOnce(db, backup({ id: 'backup_2', command_id: 'cmd_2', node_id: 'node_b', created_at: 2000, schedule_id: 's1', destination: 'node', manifest_sha256: null }));
    await insertBackupOnce(db, backup({ id: 'backup_3', command_id: 'cmd_3', created_at: 3000, schedule_id: 's1' }));
    expect((await listBackupRows(db)).map((r) => r.id)).toEqual(['backup_3', 'backup_2', 'backup_1']);
    expect((await listBackupRows(db, { nodeId: 'node_b' })).map((r) => r.id)).toEqual(['backup_2']);
    expect((await listBackupRows(db, { scheduleId: 's1', destination: 'control-plane' })).map((r) => r.id)).toEqual(['backup_3']);
    expect(await listBackupRows(db, { limit: 2 })).toHaveLength(2);
    expect(await countBackupsUsingArtifact(db, sha('a'))).toBe(3);
    expect(await countBackupsUsingArtifact(db, sha('m'))).toBe(2);
    const deletes = await Promise.all([deleteBackupRow(db, 'backup_1', 5000), deleteBackupRow(db, 'backup_1', 5000)]);
    expect(deletes.filter(Boolean)).toHaveLength(1);
    expect(await countBackupsUsingArtifact(db, sha('m'))).toBe(1);
  });

  it('finds succeeded backup.run commands whose backup is not recorded', async () => {
    const { db } = ctx.store;
    const done = commandRow({ node_id: 'node_a', type: 'backup.run' });
    const recorded = commandRow({ node_id: 'node_a', type: 'backup.run' });
    const other = commandRow({ node_id: 'node_a', type: 'exec.run' });
    const failed = commandRow({ node_id: 'node_a', type: 'backup.run' });
    for (const c of [done, recorded, other, failed]) await insertCommandOnce(db, c);
    for (const c of [done, recorded, other]) {
      await transitionCommand(db, c.id, 'running', { started_at: 10 });
      await transitionCommand(db, c.id, 'succeeded', { finished_at: 20, result: '{}' });
    }
    await transitionCommand(db, failed.id, 'running', { started_at: 10 });
    await transitionCommand(db, failed.id, 'failed', { finished_at: 20 });
    await insertBackupOnce(db, backup({ command_id: recorded.id }));
    expect((await unrecordedBackupCommands(db)).map((c) => c.id)).toEqual([done.id]);
  });

  it('a deleted backup stays deleted: hidden, never recorded again, not counted, its command not unrecorded', async () => {
    const { db } = ctx.store;
    const cmd = commandRow({ node_id: 'node_a', type: 'backup.run' });
    await insertCommandOnce(db, cmd);
    await transitionCommand(db, cmd.id, 'running', { started_at: 10 });
    await transitionCommand(db, cmd.id, 'succeeded', { finished_at: 20, result: '{}' });
    await insertBackupOnce(db, backup({ command_id: cmd.id }));
    await insertBackupOnce(db, backup({ id: 'backup_2', command_id: 'cmd_2', created_at: 2000 }));
    expect(await deleteBackupRow(db, 'backup_1', 5000)).toBe(true);
    expect(await deleteBackupRow(db, 'backup_1', 5000)).toBe(false);
    expect(await getBackupRow(db, 'backup_1')).toBeUndefined();
    expect((await listBackupRows(db)).map((r) => r.id)).toEqual(['backup_2']);
    expect(await countBackupsUsingArtifact(db, sha('a'))).toBe(1);
    // The result seen again (a late replica, a reconcile) does not bring it back.
    expect(await insertBackupOnce(db, backup({ command_id: cmd.id }))).toBe(false);
    expect(await getBackupRow(db, 'backup_1')).toBeUndefined();
    expect(await unrecordedBackupCommands(db)).toEqual([]);
  });

  it('schedules: insert, list, due, delete', async () => {
    const { db } = ctx.store;
    await insertBackupSchedule(db, schedule());
    await insertBackupSchedule(db, schedule({ id: 'bsched_2', next_run_at: 9000, keep_last: null, keep_days: 7 }));
    expect(await getBackupSchedule(db, 'bsched_1')).toEqual(schedule());
    expect((await listBackupSchedules(db)).map((s) => s.id)).toEqual(['bsched_1', 'bsched_2']);
    expect((await dueBackupSchedules(db, 4999)).map((s) => s.id)).toEqual([]);
    expect((await dueBackupSchedules(db, 5000)).map((s) => s.id)).toEqual(['bsched_1']);
    expect((await dueBackupSchedules(db, 10_000)).map((s) => s.id)).toEqual(['bsched_1', 'bsched_2']);
    expect(await deleteBackupSchedule(db, 'bsched_2')).toBe(true);
    expect(await deleteBackupSchedule(db, 'bsched_2')).toBe(false);
  });

  it('a due run is claimed by exactly one of several concurrent claimers', async () => {
    const { db } = ctx.store;
    await insertBackupSchedule(db, schedule());
    for (let round = 0; round < 5; round++) {
      const owed = (await getBackupSchedule(db, 'bsched_1'))!.next_run_at;
      const next = owed + 1000;
      const wins = await Promise.all(Array.from({ length: 4 }, () => claimBackupScheduleRun(db, 'bsched_1', owed, next, owed + 1)));
      expect(wins.filter(Boolean)).toHaveLength(1);
      const after = (await getBackupSchedule(db, 'bsched_1'))!;
      expect(after.next_run_at).toBe(next);
      expect(after.last_run_at).toBe(owed + 1);
    }
    // A claim for a run already taken changes nothing.
    expect(await claimBackupScheduleRun(db, 'bsched_1', 5000, 99_999, 1)).toBe(false);
    expect((await getBackupSchedule(db, 'bsched_1'))!.next_run_at).toBe(10_000);
  });
});
