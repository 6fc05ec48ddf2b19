import type { ArtifactService } from '../artifacts/service.js';
import type { CommandService } from '../commands/service.js';
import type { Context } from '../core/context.js';
import type { Feature } from '../core/feature.js';
import { outputAfter } from '../store/queries/command-output.js';
import { sessionRetentionMs } from './config.js';
import { recordingRoutes } from './routes.js';
import { RecordingService, type OutputReader } from './service.js';

/** How often ended sessions without a recording (a crash, another replica's result) are looked for. */
const RECONCILE_EVERY_MS = 30_000;
/** How often expired recordings are looked for: every minute, or a quarter of a shorter retention. */
const retentionEvery = (retentionMs: number | null): number => Math.max(1000, Math.min(60_000, (retentionMs ?? 60_000) / 4));

export interface RecordingsDeps {
  ctx: Context;
  commands: CommandService;
  artifacts: ArtifactService;
  options: { sessionRetention?: string };
}

/** Terminal session recordings (asciicast v2 in the artifact store), their API and retention. */
export function recordingsFeature(deps: RecordingsDeps): Feature {
  const readOutput: OutputReader = (id, after, limit) => outputAfter(deps.ctx.store.db, id, after, limit);
  const service = new RecordingService(deps.ctx, deps.artifacts, readOutput, sessionRetentionMs(deps.options.sessionRetention));
  deps.commands.onSubmitted((row, requester) => service.onSubmitted(row, requester));
  deps.commands.onTerminal((brief) => service.onCommandEnded(brief));
  let draining = false;
  let lastReconcile = 0;
  let lastRetention = 0;
  return {
    name: 'recordings',
    routes: (api) => recordingRoutes(api, service, deps.commands),
    start: async () => {
      lastReconcile = deps.ctx.now();
      await service.reconcile();
    },
    sweep: async (now) => {
      if (draining) return;
      if (now - lastReconcile >= RECONCILE_EVERY_MS) {
        lastReconcile = now;
        await service.reconcile();
      }
      if (now - lastRetention >= retentionEvery(service.retentionMs)) {
        lastRetention = now;
        await service.applyRetention(now);
      }
    },
    drain: async () => {
      draining = true;
    },
  };
}
