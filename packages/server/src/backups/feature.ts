import type { ArtifactService } from '../artifacts/service.js';
import type { CommandService } from '../commands/service.js';
import type { Context } from '../core/context.js';
import type { Feature } from '../core/feature.js';
import type { JobService } from '../jobs/service.js';
import { backupRoutes } from './routes.js';
import { BackupScheduler } from './scheduler.js';
import { BackupService } from './service.js';

/** How often results a crash kept from being recorded are looked for. */
const RECONCILE_EVERY_MS = 30_000;

/** Backup records, runs, restores and cron schedules with retention. */
export interface BackupsDeps {
  ctx: Context;
  commands: CommandService;
  jobs: JobService;
  artifacts: ArtifactService;
}

export function backupsFeature(deps: BackupsDeps): Feature {
  const service = new BackupService(deps.ctx, deps.commands, deps.jobs, deps.artifacts);
  const scheduler = new BackupScheduler(deps.ctx, deps.commands, service);
  deps.commands.onTerminal((brief) => service.onCommandEnded(brief));
  let draining = false;
  let lastReconcile = 0;
  return {
    name: 'backups',
    routes: (api) => backupRoutes(api, service, scheduler),
    start: async () => {
      lastReconcile = deps.ctx.now();
      await service.reconcile();
    },
    sweep: async (now) => {
      if (draining) return;
      await scheduler.sweep(now);
      if (now - lastReconcile >= RECONCILE_EVERY_MS) {
        lastReconcile = now;
        await service.reconcile();
      }
    },
    drain: async () => {
      draining = true;
    },
  };
}
