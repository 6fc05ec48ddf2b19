import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { BackupRun } from '@steward/protocol';
import { BackupScheduler } from '../../src/backups/scheduler.js';
import type { BackupService, RunOptions } from '../../src/backups/service.js';
import type { CommandService } from '../../src/commands/service.js';
import type { Context } from '../../src/core/context.js';
import { getBackupSchedule } from '../../src/store/queries/backup-schedules.js';
import { Store } from '../../src/store/store.js';
import { storeTargets } from '../helpers/databases.js';

/** A scheduler on its own store connection, as one control-plane replica has; runs are recorded, not sent. */
function replica(store: Store, clock: { now: number }, runs: { body: BackupRun; o: RunOptions }[]) {
  const ctx = { store, now: () => clock.now, log: pino({ level: 'silent' }) } as unknown as Context;
  const commands = { resolveNode: async (n: string) => ({ id: `id-${n}` }) } as unknown as CommandService;
  const backups = {
    run: async (body: BackupRun, o: RunOptions) => void runs.push({ body, o }),
    applyRetention: async () => 0,
  } as unknown as BackupService;
  return new BackupScheduler(ctx, commands, backups);
}

describe.each(storeTargets())('backup schedule sweeps on $name', (target) => {
  it('three replicas sweeping one database at once start each due run exactly once', async () => {
    const fresh = await target.create();
    const stores = [await Store.open(fresh.target)];
    stores.push(await Store.open(fresh.target), await Store.open(fresh.target));
    try {
      const clock = { now: Date.UTC(2026, 0, 1, 0, 0, 0, 500) };
      const runs: { body: BackupRun; o: RunOptions }[] = [];
      const replicas = stores.map((s) => replica(s, clock, runs));
      const s = await replicas[0]!.create({ cron: '* * * * * *', target: { node: 'web-1' }, source: '/srv', keepLast: 2 });
      expect(s.target).toEqual({ node: 'id-web-1' });
      expect(s.nextRunAt).toBe(Date.UTC(2026, 0, 1, 0, 0, 1));
      for (let second = 1; second <= 5; second++) {
        clock.now = Date.UTC(2026, 0, 1, 0, 0, second, 100);
        await Promise.all(replicas.flatMap((r) => [r.sweep(clock.now), r.sweep(clock.now)]));
      }
      expect(runs).toHaveLength(5);
      expect(runs.map((r) => r.o.requestId)).toEqual([1, 2, 3, 4, 5].map((sec) => `backup-schedule:${s.id}:${Date.UTC(2026, 0, 1, 0, 0, sec)}`));
      expect(runs[0]!.body).toEqual({ node: 'id-web-1', source: '/srv', exclude: [], destination: 'control-plane' });
      expect(runs[0]!.o.scheduleId).toBe(s.id);
      // Nothing more is due until the next second.
      await Promise.all(replicas.map((r) => r.sweep(clock.now)));
      expect(runs).toHaveLength(5);
      expect((await getBackupSchedule(stores[0]!.db, s.id))!.next_run_at).toBe(Date.UTC(2026, 0, 1, 0, 0, 6));
    } finally {
      for (const st of stores) await st.close();
      await fresh.drop();
    }
  });

  it('after a long outage a schedule runs once, not once per missed run', async () => {
    const fresh = await target.create();
    const store = await Store.open(fresh.target);
    try {
      const clock = { now: Date.UTC(2026, 0, 1) };
      const runs: { body: BackupRun; o: RunOptions }[] = [];
      const r = replica(store, clock, runs);
      const s = await r.create({ cron: '0 * * * *', target: { selector: 'role=web' }, source: '/srv', destination: 'node' });
      clock.now = Date.UTC(2026, 0, 2, 5, 30);
      await r.sweep(clock.now);
      await r.sweep(clock.now);
      expect(runs).toHaveLength(1);
      expect(runs[0]!.body).toEqual({ selector: 'role=web', source: '/srv', exclude: [], destination: 'node' });
      expect((await r.get(s.id)).nextRunAt).toBe(Date.UTC(2026, 0, 2, 6, 0));
    } finally {
      await store.close();
      await fresh.drop();
    }
  });
});
