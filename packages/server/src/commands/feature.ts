import type { Job } from '@steward/protocol';
import type { Context } from '../core/context.js';
import type { Feature } from '../core/feature.js';
import type { StreamSlots } from '../core/stream-slots.js';
import { streamJobOutput } from './job-output-stream.js';
import { OUTPUT_PRUNE_EVERY_MS, outputRetentionMs, pruneOutput } from './output-retention.js';
import { resumeAfter, streamCommandOutput, type OutputStreamDeps } from './output-stream.js';
import { commandRoutes } from './routes.js';
import type { CommandService } from './service.js';
import { sweepCommands } from './sweeper.js';

/**
 * Commands to one node: submit, list, wait, cancel, follow output; the sweep ends what would wait
 * forever and drops stored output past its retention.
 */
export function commandsFeature(deps: {
  ctx: Context;
  commands: CommandService;
  jobs: { summary(id: string): Promise<Job> };
  sseSlots: StreamSlots;
  options: { outputRetention?: string };
}): Feature {
  const streams: OutputStreamDeps = { ctx: deps.ctx, commands: deps.commands, slots: deps.sseSlots, open: new Set() };
  // Read at build time, so a bad value stops the start instead of the first sweep.
  const retention = outputRetentionMs(deps.options.outputRetention);
  let lastPrune = 0;
  return {
    name: 'commands',
    routes: (api) =>
      commandRoutes(api, deps.commands, {
        command: (id, opts, req, reply) => streamCommandOutput(streams, id, { follow: opts.follow, after: resumeAfter(req, opts.after) }, req, reply),
        job: (id, req, reply) => streamJobOutput(streams, (jobId) => deps.jobs.summary(jobId), id, req, reply),
      }),
    sweep: async (now) => {
      await sweepCommands(deps.ctx, deps.commands);
      if (now - lastPrune >= OUTPUT_PRUNE_EVERY_MS) {
        lastPrune = now;
        await pruneOutput(deps.ctx, retention, now);
      }
    },
    drain: async () => {
      for (const end of [...streams.open]) end();
    },
  };
}
