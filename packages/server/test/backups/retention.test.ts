import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { ArtifactService } from '../../src/artifacts/service.js';
import { BackupService } from '../../src/backups/service.js';
import type { CommandService } from '../../src/commands/service.js';
import type { Context } from '../../src/core/context.js';
import type { JobService } from '../../src/jobs/service.js';
import { insertBackupOnce, listBackupRows } from '../../src/store/queries/backups.js';
import { getCommandRow, insertCommandOnce, transitionCommand } from '../../src/store/queries/commands.js';
import type { BackupsTable } from '../../src/store/schema.js';
import { storeTargets, useFreshStore } from '../helpers/databases.js';
import { commandRow } from '../helpers/rows.js';

const DAY = 86_400_000;
const NOW = 100 * DAY;
const sha = (c: string) => c.repeat(64);

function row(id: string, node: string, ageDays: number, over: Partial<BackupsTable> = {}): BackupsTable {
  return {
    id,
    node_id: node,
    command_id: `cmd_${id}`,
    schedule_id: 's1',
    source: '/srv',
    exclude: '[]',
    destination: 'control-plane',
    archive_sha256: sha(id.slice(-1)),
    archive_size: 10,
    manifest_sha256: sha(String.fromCharCode(97 + Number(id.slice(-1)))),
    file_count: 1,
    total_bytes: 1,
    created_at: NOW - ageDays * DAY,
    deleted_at: null,
    ...over,
  };
}

describe.each(storeTargets())('backup retention on $name', (target) => {
  const ctx = useFreshStore(target);

  function service() {
    const removedArtifacts: string[] = [];
    const submitted: unknown[] = [];
    const c = { store: ctx.store, now: () => NOW, log: pino({ level: 'silent' }) } as unknown as Context;
    const commands = { submit: async (b: unknown) => void submitted.push(b) } as unknown as CommandService;
    const artifacts = { remove: async (s: string) => void removedArtifacts.push(s) } as unknown as ArtifactService;
    return { svc: new BackupService(c, commands, {} as JobService, artifacts), removedArtifacts, submitted };
  }

  it('keepLast keeps the newest N per node and frees artifacts no other backup uses', async () => {
    const { db } = ctx.store;
    // b1..b4 on node a (b4 newest); b5, b6 on node b. b1 shares its archive with b3.
    await insertBackupOnce(db, row('b1', 'a', 4, { archive_sha256: sha('3') }));
    await insertBackupOnce(db, row('b2', 'a', 3));
    await insertBackupOnce(db, row('b3', 'a', 2));
    await insertBackupOnce(db, row('b4', 'a', 1));
    await insertBackupOnce(db, row('b5', 'b', 2));
    await insertBackupOnce(db, row('b6', 'b', 1));
    await insertBackupOnce(db, row('b7', 'a', 9, { schedule_id: 'other' }));
    const { svc, removedArtifacts } = service();
    expect(await svc.applyRetention({ id: 's1', keep_last: 2, keep_days: null }, NOW)).toBe(2);
    expect((await listBackupRows(db)).map((r) => r.id).sort()).toEqual(['b3', 'b4', 'b5', 'b6', 'b7']);
    // b1's archive is b3's too, so only its manifest goes; b2's archive and manifest go.
    expect(removedArtifacts.sort()).toEqual([sha('2'), sha('b'), sha('c')].sort());
  });

  it('keepDays keeps the young ones; with both rules either one keeps a backup; node-kept ones are deleted on their node', async () => {
    const { db } = ctx.store;
    for (const [id, age] of [['b1', 40], ['b2', 20], ['b3', 10], ['b4', 1]] as const) {
      await insertBackupOnce(db, row(id, 'a', age, { destination: 'node', manifest_sha256: null }));
    }
    const { svc, submitted, removedArtifacts } = service();
    expect(await svc.applyRetention({ id: 's1', keep_last: null, keep_days: 15 }, NOW)).toBe(2);
    expect((await listBackupRows(db)).map((r) => r.id)).toEqual(['b4', 'b3']);
    expect(submitted).toEqual([
      { node: 'a', type: 'backup.delete', payload: { backupId: 'b2' }, requestId: 'backup-delete:b2' },
      { node: 'a', type: 'backup.delete', payload: { backupId: 'b1' }, requestId: 'backup-delete:b1' },
    ]);
    expect(removedArtifacts).toEqual([]);
    await insertBackupOnce(db, row('b5', 'a', 30, { destination: 'node', manifest_sha256: null }));
    // keepLast 1 keeps b4; keepDays 15 keeps b3 as well; b5 is neither.
    expect(await svc.applyRetention({ id: 's1', keep_last: 1, keep_days: 15 }, NOW)).toBe(1);
    expect((await listBackupRows(db)).map((r) => r.id)).toEqual(['b4', 'b3']);
    expect(await svc.applyRetention({ id: 's1', keep_last: null, keep_days: null }, NOW)).toBe(0);
  });
  /** A succeeded backup.run command whose result is backup `id` of schedule s1. */
  async function succeededRun(id: string, ageDays: number): Promise<void> {
    const { db } = ctx.store;
    const cmd = commandRow({ id: `cmd_${id}`, node_id: 'a', type: 'backup.run' });
    const r = row(id, 'a', ageDays);
    const result = {
      backupId: id,
      nodeId: 'a',
      source: r.source,
      exclude: [],
      destination: r.destination,
      scheduleId: r.schedule_id,
      createdAt: r.created_at,
      archiveSha256: r.archive_sha256,
      archiveSize: r.archive_size,
      manifestSha256: r.manifest_sha256,
      fileCount: r.file_count,
      totalBytes: r.total_bytes,
    };
    await insertCommandOnce(db, cmd);
    await transitionCommand(db, cmd.id, 'running', { started_at: 10 });
    await transitionCommand(db, cmd.id, 'succeeded', { finished_at: 20, result: JSON.stringify(result) });
  }

  it('reconcile never brings back a backup deleted by hand or by retention', async () => {
    const { db } = ctx.store;
    for (const [id, age] of [['b1', 3], ['b2', 2], ['b3', 1]] as const) await succeededRun(id, age);
    const { svc } = service();
    // A crash before recording: reconcile records all three.
    await svc.reconcile();
    expect((await listBackupRows(db)).map((r) => r.id)).toEqual(['b3', 'b2', 'b1']);
    await svc.remove('b3');
    expect(await svc.applyRetention({ id: 's1', keep_last: 1, keep_days: null }, NOW)).toBe(1);
    expect((await listBackupRows(db)).map((r) => r.id)).toEqual(['b2']);
    await svc.reconcile();
    // The command's result arriving again (another replica) records nothing either.
    expect(await svc.record((await getCommandRow(db, 'cmd_b3'))!)).toBeNull();
    expect(await svc.record((await getCommandRow(db, 'cmd_b2'))!)).toMatchObject({ id: 'b2' });
    expect((await listBackupRows(db)).map((r) => r.id)).toEqual(['b2']);
    expect((await svc.list({})).map((b) => b.id)).toEqual(['b2']);
    await expect(svc.get('b1')).rejects.toMatchObject({ code: 'not_found' });
  });
});
